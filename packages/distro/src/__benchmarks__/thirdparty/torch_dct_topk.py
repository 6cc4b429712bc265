# Competitor for the distro benchmark: the DeMo algorithm in PyTorch (Debian's python3-torch),
# same shape, chunk and k: tiles via reshape, 2-D DCT as two matmuls with the orthonormal basis,
# top-k of |coefficients| per tile, then scatter and inverse DCT. Prints JSON timings (ms).
import json, math, sys, time
import torch

n, chunk, k, reps, threads = (int(a) for a in sys.argv[1:6])
torch.set_num_threads(threads)
torch.manual_seed(0)

def basis(c):
    i = torch.arange(c, dtype=torch.float64)
    d = torch.cos(math.pi * (2 * i[None, :] + 1) * i[:, None] / (2 * c)) * math.sqrt(2 / c)
    d[0] /= math.sqrt(2)
    return d.float()

D = basis(chunk)
x = torch.randn(n, n)
t = n // chunk

def compress(x):
    tiles = x.reshape(t, chunk, t, chunk).permute(0, 2, 1, 3)          # (ty, tx, h, w)
    coef = D @ tiles @ D.T                                              # 2-D DCT per tile
    flat = coef.reshape(t, t, chunk * chunk)
    idx = torch.topk(flat.abs(), k, dim=-1, sorted=False).indices
    return idx, torch.gather(flat, -1, idx)

def decompress(idx, val):
    flat = torch.zeros(t, t, chunk * chunk).scatter_(-1, idx, val)
    tiles = D.T @ flat.reshape(t, t, chunk, chunk) @ D                 # inverse DCT per tile
    return tiles.permute(0, 2, 1, 3).reshape(n, n)

comp, decomp = [], []
for _ in range(reps):
    s = time.perf_counter(); idx, val = compress(x); comp.append((time.perf_counter() - s) * 1e3)
    s = time.perf_counter(); y = decompress(idx, val); decomp.append((time.perf_counter() - s) * 1e3)
print(json.dumps({"torch": torch.__version__, "threads": threads, "compress_ms": comp, "decompress_ms": decomp}))
