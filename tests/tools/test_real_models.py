"""Optional: auto init, LSUV and audit on Hugging Face models built from small configs (random init,
no downloads). Runs only under ``make test-models`` (which sets ``INITLAB_TEST_MODELS=1`` in its own
venv with ``transformers``); skipped otherwise, and where transformers is not installed, so
``make test`` never depends on it (nor pays its import time)."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
import torch
from torch import nn

import initlab
from initlab.tools import EXPLODING

if not os.environ.get("INITLAB_TEST_MODELS"):
    pytest.skip("real-model tests run under `make test-models`", allow_module_level=True)
tf = pytest.importorskip("transformers")

VOCAB = 100


def _ids() -> torch.Tensor:
    return torch.randint(0, VOCAB, (2, 12), generator=torch.Generator().manual_seed(0))


class _Logits(nn.Module):
    """``model(ids) -> logits`` (T5 gets the same ids as decoder input)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.m = model

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if isinstance(self.m, tf.T5ForConditionalGeneration):
            return self.m(input_ids=ids, decoder_input_ids=ids).logits
        return (
            self.m(input_ids=ids).last_hidden_state
            if not hasattr(self.m, "lm_head")
            else self.m(input_ids=ids).logits
        )


MAKERS: dict[str, Callable[[], nn.Module]] = {
    "gpt2": lambda: tf.GPT2LMHeadModel(
        tf.GPT2Config(n_layer=2, n_embd=64, n_head=2, vocab_size=VOCAB, n_positions=32)
    ),
    "t5": lambda: tf.T5ForConditionalGeneration(
        tf.T5Config(d_model=128, d_kv=32, num_heads=4, d_ff=256, num_layers=2, vocab_size=VOCAB)
    ),
    "bert": lambda: tf.BertModel(
        tf.BertConfig(
            hidden_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=128,
            vocab_size=VOCAB,
        )
    ),
    "llama": lambda: tf.LlamaForCausalLM(
        tf.LlamaConfig(
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=2,
            vocab_size=VOCAB,
        )
    ),
}


def _build(name: str) -> nn.Module:
    torch.manual_seed(0)  # HF draws its own init from the global RNG (the test fixture forks it)
    return _Logits(MAKERS[name]())


def _exploding(model: nn.Module) -> set[str]:
    return {f.kind for f in initlab.diagnose(model, _ids()).findings if f.kind == EXPLODING}


@pytest.mark.parametrize("name", ["gpt2", "t5"])
def test_auto_init_and_lsuv_add_no_exploding_finding(name: str) -> None:
    own = _exploding(_build(name))
    model = _build(name)
    plan = initlab.auto_init_(model, example=_ids(), generator=torch.Generator().manual_seed(1))
    assert plan.order == "forward" and plan.unknown == ()
    assert _exploding(model) <= own
    model = _build(name)
    res = initlab.lsuv_(model, _ids(), generator=torch.Generator().manual_seed(1))
    assert res.passes == 1 and _exploding(model) <= own


def test_gpt2_conv1d_layers_and_their_activation() -> None:
    model = _build("gpt2")
    plan = initlab.auto_init_(model, example=_ids(), generator=torch.Generator().manual_seed(1))
    schemes = {s.layer.removeprefix("m.transformer."): s.scheme for s in plan.steps}
    assert schemes["h.0.mlp.c_fc"] == "he_normal(nonlinearity=gelu_tanh)"  # NewGELUActivation
    assert schemes["h.0.attn.c_attn"] == "xavier_normal"
    assert schemes["h.1.mlp.c_proj"] == "depth_scaled(base=xavier_normal, n=4)"  # recognised GPT2Block
    entry = initlab.audit(model).of("m.transformer.h.0.mlp.c_fc.weight")
    assert (entry.fan_in, entry.fan_out) == (64, 256)


def test_t5_keeps_its_query_scale() -> None:
    plan = initlab.auto_init_(_build("t5"), example=_ids(), generator=torch.Generator().manual_seed(1))
    assert {k.rsplit(".", 1)[-1] for k in plan.kept} <= {"q", "lm_head"}
    assert sum(k.endswith(".q") for k in plan.kept) == 6  # 2 encoder + 2 decoder self + 2 cross


@pytest.mark.parametrize(
    ("name", "layer", "scheme"),
    [
        ("bert", "m.encoder.layer.0.intermediate.dense", "he_normal(nonlinearity=gelu)"),
        ("llama", "m.model.layers.0.mlp.gate_proj", "he_normal(nonlinearity=silu)"),
        ("llama", "m.model.layers.0.mlp.up_proj", "xavier_normal"),  # multiplied, not activated
    ],
)
def test_activations_of_bert_and_llama(name: str, layer: str, scheme: str) -> None:
    plan = initlab.auto_init_(_build(name), example=_ids(), generator=torch.Generator().manual_seed(1))
    assert plan.order == "forward" and plan.scheme_of(layer) == scheme
