"""The issue-17 findings on the real Hugging Face models, at toy size (optional: skipped without
``transformers``; ``pip install transformers`` for this run; torchvision and timm do not import here).
"""

from __future__ import annotations

import pytest
import torch

import initlab

transformers = pytest.importorskip("transformers")


def _models() -> dict[str, torch.nn.Module]:
    small = {"vocab_size": 200, "num_hidden_layers": 3, "num_attention_heads": 4}
    return {
        "bert": transformers.BertModel(
            transformers.BertConfig(hidden_size=32, intermediate_size=64, **small), add_pooling_layer=False
        ),
        "gpt2": transformers.GPT2Model(
            transformers.GPT2Config(
                n_embd=32, n_layer=3, n_head=4, vocab_size=200, n_positions=32, bos_token_id=0, eos_token_id=0
            )
        ),
        "llama": transformers.LlamaModel(
            transformers.LlamaConfig(hidden_size=32, intermediate_size=64, num_key_value_heads=4, **small)
        ),
    }


@pytest.mark.parametrize("name", ["bert", "gpt2", "llama"])
def test_hugging_face_init_is_not_misjudged(name: str) -> None:
    model = _models()[name].eval()
    report = initlab.audit(model)
    assert not report.warned("trunc_normal_absolute"), report.warnings  # normal_(std=0.02) is not truncated
    assert not any(w.scheme.startswith("sparse(") for w in report.weights)  # the padding row is not sparse
    ids = torch.randint(0, 200, (8, 16), generator=torch.Generator().manual_seed(0))
    d = initlab.diagnose(model, ids, generator=torch.Generator().manual_seed(1))
    assert not d.flagged("vanishing") and not d.flagged("exploding") and not d.flagged("dead"), d.findings
    depth = d.depth("forward")
    assert depth is not None and depth.path == "blocks" and depth.steps == 2  # 3 transformer layers
