"""The benchmark LLaMA (same config as train-step.ts) in PyTorch, for a CPU train-step comparison.

Run with Debian's python3-torch: /usr/bin/python3 torch_llama.py BATCH SEQ STEPS THREADS
Prints JSON: median ms per step (forward + backward, no optimizer), like the ONNX Runtime figure.
"""
import json, math, sys, time
import torch
import torch.nn.functional as F

B, T, STEPS, THREADS = (int(a) for a in sys.argv[1:5])
torch.set_num_threads(THREADS)
torch.manual_seed(0)
V, D, I, L, H, K = 256, 384, 1024, 6, 6, 2
d = D // H
eps, theta = 1e-6, 10000.0

def w(*shape, std=0.02):
    return (torch.randn(*shape) * std).requires_grad_()

params = {'embed': w(V, D), 'norm': torch.ones(D, requires_grad=True), 'head': w(V, D)}
for l in range(L):
    params.update({f'{l}.q': w(D, D), f'{l}.k': w(K * d, D), f'{l}.v': w(K * d, D), f'{l}.o': w(D, D),
                   f'{l}.gate': w(I, D), f'{l}.up': w(I, D), f'{l}.down': w(D, I),
                   f'{l}.n1': torch.ones(D, requires_grad=True), f'{l}.n2': torch.ones(D, requires_grad=True)})

inv = 1.0 / theta ** (torch.arange(0, d, 2).float() / d)
freqs = torch.outer(torch.arange(T).float(), inv)
emb = torch.cat([freqs, freqs], -1)
cos, sin = emb.cos(), emb.sin()
mask = torch.full((T, T), float('-inf')).triu(1)

def rms(x, g):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * g

def rope(x):
    x1, x2 = x[..., : d // 2], x[..., d // 2 :]
    return x * cos + torch.cat([-x2, x1], -1) * sin

def loss_fn(ids, labels):
    h = params['embed'][ids]
    for l in range(L):
        x = rms(h, params[f'{l}.n1'])
        q = rope((x @ params[f'{l}.q'].T).view(B, T, H, d).transpose(1, 2))
        k = rope((x @ params[f'{l}.k'].T).view(B, T, K, d).transpose(1, 2)).repeat_interleave(H // K, 1)
        v = (x @ params[f'{l}.v'].T).view(B, T, K, d).transpose(1, 2).repeat_interleave(H // K, 1)
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + mask, -1) @ v
        h = h + a.transpose(1, 2).reshape(B, T, D) @ params[f'{l}.o'].T
        y = rms(h, params[f'{l}.n2'])
        h = h + (F.silu(y @ params[f'{l}.gate'].T) * (y @ params[f'{l}.up'].T)) @ params[f'{l}.down'].T
    logits = rms(h, params['norm']) @ params['head'].T
    return F.cross_entropy(logits.view(-1, V), labels.view(-1))

ids = torch.randint(0, V, (B, T))
times = []
for s in range(STEPS + 1):
    t = time.perf_counter()
    for p in params.values():
        p.grad = None
    loss_fn(ids, ids).backward()
    if s > 0:
        times.append((time.perf_counter() - t) * 1000)
times.sort()
print(json.dumps({'torch': torch.__version__, 'threads': THREADS, 'batch': B, 'seq': T, 'params': sum(p.numel() for p in params.values()), 'msPerStep': times, 'medianMs': times[len(times) // 2]}))
