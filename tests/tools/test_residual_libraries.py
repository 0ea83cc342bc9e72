"""Residual branches of real Hugging Face models recognised without marks, at toy size (optional:
skipped without ``transformers``; random init from small configs, no downloads).

Measured (:func:`initlab.diagnose`, backward depth ratio output -> input, 6 layers, d_model 64):
T5 after ``auto`` x5.59 without the inference, x0.86 with it (24 layers: x12.2 -> x0.92); BERT
(post-LN) x0.69 -> x0.98. GPT-2 and Llama keep their growth (x2.1 and x4.4 at 6 layers): their
embeddings (``normal(0.02)``) are small next to the branches ``auto`` draws, and after each norm a
pre-LN network is invariant to one common scale of all its branches, so 1/sqrt(n) alone cannot
flatten them (T5's embeddings have std 1).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import initlab
from initlab.schemes import RESIDUAL, infer_marks, residual_outputs
from initlab.tools import auto_init_

tf = pytest.importorskip("transformers")

VOCAB = 100


def _model(name: str, layers: int) -> nn.Module:
    makers = {
        "gpt2": lambda: tf.GPT2Model(
            tf.GPT2Config(
                n_layer=layers,
                n_embd=32,
                n_head=2,
                vocab_size=VOCAB,
                n_positions=32,
                bos_token_id=0,
                eos_token_id=0,
            )
        ),
        "t5": lambda: tf.T5ForConditionalGeneration(
            tf.T5Config(d_model=64, d_kv=16, num_heads=4, d_ff=128, num_layers=layers, vocab_size=VOCAB)
        ),
        "bert": lambda: tf.BertModel(
            tf.BertConfig(
                hidden_size=32,
                num_hidden_layers=layers,
                num_attention_heads=2,
                intermediate_size=64,
                vocab_size=VOCAB,
            ),
            add_pooling_layer=False,
        ),
        "llama": lambda: tf.LlamaModel(
            tf.LlamaConfig(
                hidden_size=32,
                intermediate_size=64,
                num_hidden_layers=layers,
                num_attention_heads=2,
                num_key_value_heads=2,
                vocab_size=VOCAB,
            )
        ),
    }
    model: nn.Module = makers[name]()
    return model


EXPECTED = {
    "gpt2": ("GPT2Block", ("h.0.attn.c_proj", "h.0.mlp.c_proj")),
    "t5": (
        "T5Block",
        ("encoder.block.0.layer.0.SelfAttention.o", "encoder.block.0.layer.1.DenseReluDense.wo"),
    ),
    "bert": ("BertLayer", ("encoder.layer.0.attention.output.dense", "encoder.layer.0.output.dense")),
    "llama": ("LlamaDecoderLayer", ("layers.0.self_attn.o_proj", "layers.0.mlp.down_proj")),
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_transformer_blocks_are_recognised(name: str) -> None:
    model = _model(name, 2)
    found = infer_marks(model)
    cls, outputs = EXPECTED[name]
    assert found[0].cls.endswith(cls) and found[0].outputs == outputs
    assert all(r.post_norm is (name == "bert") for r in found)  # BERT: LayerNorm(x + f(x))
    n = {"t5": 4 + 6}.get(name, 4)  # T5: 2 encoder blocks x 2 branches, 2 decoder blocks x 3
    assert len(residual_outputs(model)) == n
    if name == "t5":
        assert found[-1].outputs[1].endswith("layer.1.EncDecAttention.o")


class _Logits(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.m = model

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.m(input_ids=ids, decoder_input_ids=ids).logits
        return out


def _t5(layers: int, marks: bool) -> tuple[nn.Module, initlab.tools.AutoInitPlan, float]:
    torch.manual_seed(0)  # HF draws its own init from the global RNG (the test fixture forks it)
    model = _Logits(_model("t5", layers)).eval()
    if not marks:
        setattr(model, RESIDUAL, False)
    ids = torch.randint(0, VOCAB, (4, 16), generator=torch.Generator().manual_seed(0))
    plan = auto_init_(model, example=ids, generator=torch.Generator().manual_seed(2))
    depth = initlab.diagnose(model, ids, generator=torch.Generator().manual_seed(1)).depth("backward")
    assert depth is not None
    return model, plan, depth.ratio


def test_auto_depth_scales_t5_and_its_gradient_stops_growing() -> None:
    _, plain, grown = _t5(6, marks=False)
    _, plan, flat = _t5(6, marks=True)
    assert "residual" not in plain.note
    assert "T5Block (transformer block" in plan.note and "scaled by 1/sqrt(30)" in plan.note
    o = "m.encoder.block.0.layer.0.SelfAttention.o"
    assert plan.scheme_of(o) == f"depth_scaled(base={plain.scheme_of(o)}, n=30)"
    assert grown > 3 and flat < 1.5, (grown, flat)  # measured x5.59 -> x0.86
