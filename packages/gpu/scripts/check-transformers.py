"""Loads each checkpoint directory written by check-transformers.ts with transformers'
LlamaForCausalLM and compares its logits with ours (psyche-logits.f32, ONNX Runtime).
Exit 0: every variant within tolerance, or transformers is not importable (a clear SKIP line);
exit 1: a variant failed to load cleanly or its logits differ."""
import json
import os
import sys

try:
    import numpy as np
    import torch
    import transformers
    from transformers import LlamaForCausalLM
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"SKIP: transformers/torch/numpy not importable with {sys.executable} ({e}); "
          "set PSYCHE_PYTHON to a Python that has torch and transformers")
    sys.exit(0)

root = sys.argv[1]
ok = True
print(f"torch {torch.__version__}, transformers {transformers.__version__}")
for name in sorted(os.listdir(root)):
    d = os.path.join(root, name)
    meta = json.load(open(os.path.join(d, "psyche-tokens.json")))
    model, info = LlamaForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="eager", output_loading_info=True)
    model.eval()
    config = json.load(open(os.path.join(d, "config.json")))
    # a tied head has no lm_head.weight in the file: transformers ties it to the embedding
    missing = [k for k in info["missing_keys"] if not (config.get("tie_word_embeddings") and k == "lm_head.weight")]
    unexpected = list(info["unexpected_keys"])
    ids = meta["ids"]
    with torch.no_grad():
        theirs = model(torch.tensor([ids])).logits[0].numpy()
    ours = np.fromfile(os.path.join(d, "psyche-logits.f32"), dtype="<f4").reshape(len(ids), meta["vocab"])
    diff = float(np.abs(theirs - ours).max())
    scale = float(np.abs(theirs).max())
    good = diff <= meta["tolerance"] and not missing and not unexpected
    ok &= good
    print(f"{name}: max |logit difference| {diff:.3e} (max |logit| {scale:.3f}, tolerance {meta['tolerance']}); "
          f"missing keys {missing or 'none'}, unexpected keys {unexpected or 'none'} -> {'OK' if good else 'FAIL'}")
sys.exit(0 if ok else 1)
