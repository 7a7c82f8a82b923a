"""placeholder"""
class MultiTensor: pass
def shard(*a): pass
