"""Independent PyTorch forward of a Hugging Face Llama checkpoint (model.safetensors + config.json),
written from transformers' modeling_llama semantics (rotate_half RoPE, repeat_kv GQA, RMSNorm in
float32, SiLU-gated MLP, optional tied head). Reads safetensors without the safetensors package.
usage: python3 hf_llama_reference.py CKPT_DIR ID,ID,...   → prints JSON logits [T][V]
"""
import json, math, struct, sys
import numpy as np
import torch
import torch.nn.functional as F

ckpt, ids = sys.argv[1], [int(x) for x in sys.argv[2].split(',')]
cfg = json.load(open(f'{ckpt}/config.json'))
raw = open(f'{ckpt}/model.safetensors', 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
header = json.loads(raw[8:8 + n])
W = {}
for name, t in header.items():
    if name == '__metadata__':
        continue
    assert t['dtype'] == 'F32'
    b, e = t['data_offsets']
    W[name] = torch.from_numpy(np.frombuffer(raw[8 + n + b:8 + n + e], dtype='<f4').reshape(t['shape']).copy())

D, H, K, L = cfg['hidden_size'], cfg['num_attention_heads'], cfg['num_key_value_heads'], cfg['num_hidden_layers']
d, eps, T = D // H, cfg['rms_norm_eps'], len(ids)
inv = 1.0 / (cfg['rope_theta'] ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
freqs = torch.outer(torch.arange(T).float(), inv)
emb = torch.cat([freqs, freqs], -1)
cos, sin = emb.cos(), emb.sin()

def rms(x, w):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

def rot(x):
    return torch.cat([-x[..., d // 2:], x[..., :d // 2]], -1)

h = W['model.embed_tokens.weight'][torch.tensor(ids)].unsqueeze(0)
mask = torch.full((T, T), float('-inf')).triu(1)
for i in range(L):
    p = f'model.layers.{i}'
    x = rms(h, W[f'{p}.input_layernorm.weight'])
    q = (x @ W[f'{p}.self_attn.q_proj.weight'].T).view(1, T, H, d).transpose(1, 2)
    k = (x @ W[f'{p}.self_attn.k_proj.weight'].T).view(1, T, K, d).transpose(1, 2)
    v = (x @ W[f'{p}.self_attn.v_proj.weight'].T).view(1, T, K, d).transpose(1, 2)
    q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
    k, v = k.repeat_interleave(H // K, 1), v.repeat_interleave(H // K, 1)
    a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + mask, -1) @ v
    h = h + a.transpose(1, 2).reshape(1, T, D) @ W[f'{p}.self_attn.o_proj.weight'].T
    y = rms(h, W[f'{p}.post_attention_layernorm.weight'])
    h = h + (F.silu(y @ W[f'{p}.mlp.gate_proj.weight'].T) * (y @ W[f'{p}.mlp.up_proj.weight'].T)) @ W[f'{p}.mlp.down_proj.weight'].T
h = rms(h, W['model.norm.weight'])
head = W['model.embed_tokens.weight'] if cfg['tie_word_embeddings'] else W['lm_head.weight']
print(json.dumps((h @ head.T)[0].tolist()))
