"""Small pure-PyTorch models with the structure of the real ones the findings misjudged (issue 17).

Each mirrors one library model's layout at toy width: a ViT (torchvision: zero head), an MLP-Mixer
(timm: zero head), a Llama-like decoder (Hugging Face: ``q_proj`` ... ``down_proj``, ``normal(0.02)``),
a ResNet with zero BatchNorm scales at the end of its residual branches (timm's ``zero_init_last``,
torchvision's ``zero_init_residual``), a BERT-like encoder with ``normal_(std=0.02)``, and an MLP
whose signal grows in the middle and shrinks back.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def _g(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def normal_002_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Hugging Face's ``_init_weights``: Linear/Embedding ``normal_(0, 0.02)``, biases 0, norms 1."""
    g = _g(seed)
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, nn.Linear | nn.Embedding):
                mod.weight.normal_(0.0, 0.02, generator=g)
            if isinstance(getattr(mod, "bias", None), Tensor):
                mod.bias.zero_()
    return model


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(x)))


class EncoderBlock(nn.Module):
    """torchvision's ViT block: x + MHA(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim)
        self.self_attention = nn.MultiheadAttention(dim, 4, batch_first=True)
        self.ln_2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, 2 * dim)

    def forward(self, x: Tensor) -> Tensor:
        y = self.ln_1(x)
        x = x + self.self_attention(y, y, y, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class ViTLike(nn.Module):
    """torchvision's VisionTransformer at toy size: patch conv, class token, blocks, LN, zero head."""

    def __init__(self, dim: int = 32, depth: int = 4, classes: int = 10) -> None:
        super().__init__()
        self.conv_proj = nn.Conv2d(3, dim, 4, 4)
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embedding = nn.Parameter(torch.randn(1, 17, dim) * 0.02)
        self.layers = nn.Sequential(*(EncoderBlock(dim) for _ in range(depth)))
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)
        nn.init.zeros_(self.head.weight)  # torchvision: heads.head zero-initialised
        nn.init.zeros_(self.head.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv_proj(x).flatten(2).transpose(1, 2)  # (B, 16, D)
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embedding
        return self.head(self.ln(self.layers(x))[:, 0])


class MixerBlock(nn.Module):
    """timm's MixerBlock: token mixing across patches, then channel mixing, both residual."""

    def __init__(self, dim: int, tokens: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.mlp_tokens = Mlp(tokens, 2 * tokens)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp_channels = Mlp(dim, 4 * dim)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.mlp_tokens(self.norm1(x).transpose(1, 2)).transpose(1, 2)
        return x + self.mlp_channels(self.norm2(x))


class MixerLike(nn.Module):
    """timm's MlpMixer at toy size: patch stem, blocks, LN, mean over tokens, zero head."""

    def __init__(self, dim: int = 32, depth: int = 4, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, dim, 4, 4)
        self.blocks = nn.Sequential(*(MixerBlock(dim, 16) for _ in range(depth)))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)
        nn.init.zeros_(self.head.weight)  # timm: head zero-initialised (head_bias 0)
        nn.init.zeros_(self.head.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = self.blocks(self.stem(x).flatten(2).transpose(1, 2))  # (B, 16, D)
        return self.head(self.norm(x).mean(dim=1))


class RMSNorm(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        return self.weight * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)


class LlamaAttention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.q_proj = nn.Linear(dim, dim, bias=False)
        self.k_proj = nn.Linear(dim, dim, bias=False)
        self.v_proj = nn.Linear(dim, dim, bias=False)
        self.o_proj = nn.Linear(dim, dim, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        b, t, d = x.shape
        q, k, v = (
            p(x).view(b, t, self.heads, -1).transpose(1, 2) for p in (self.q_proj, self.k_proj, self.v_proj)
        )
        y = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, H, T, d/H)
        return self.o_proj(y.transpose(1, 2).reshape(b, t, d))


class LlamaMLP(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(dim, hidden, bias=False)
        self.up_proj = nn.Linear(dim, hidden, bias=False)
        self.down_proj = nn.Linear(hidden, dim, bias=False)
        self.act_fn = nn.SiLU()

    def forward(self, x: Tensor) -> Tensor:
        return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.input_layernorm = RMSNorm(dim)
        self.self_attn = LlamaAttention(dim, 4)
        self.post_attention_layernorm = RMSNorm(dim)
        self.mlp = LlamaMLP(dim, hidden)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.self_attn(self.input_layernorm(x))
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaLike(nn.Module):
    """Hugging Face's LlamaModel (no LM head) at toy size, with its ``normal_(0, 0.02)`` init."""

    def __init__(self, vocab: int = 100, dim: int = 32, hidden: int = 64, depth: int = 4) -> None:
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab, dim)
        self.layers = nn.ModuleList(LlamaDecoderLayer(dim, hidden) for _ in range(depth))
        self.norm = RMSNorm(dim)
        normal_002_(self)

    def forward(self, ids: Tensor) -> Tensor:
        x = self.embed_tokens(ids)  # (B, T, D)
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)


class Bottleneck(nn.Module):
    """torchvision's Bottleneck: 1x1, 3x3, 1x1 convs with BatchNorm, + identity, ReLU."""

    def __init__(self, ch: int, zero_last: bool) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch // 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(ch // 2)
        self.conv2 = nn.Conv2d(ch // 2, ch // 2, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(ch // 2)
        self.conv3 = nn.Conv2d(ch // 2, ch, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(ch)
        self.relu = nn.ReLU(inplace=True)
        if zero_last:
            nn.init.zeros_(self.bn3.weight)  # zero_init_residual / zero_init_last

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + x)


class ResNetLike(nn.Module):
    """A ResNet with ``zero_init_residual``: stem, bottleneck blocks, pooled linear classifier."""

    def __init__(self, ch: int = 16, depth: int = 4, zero_last: bool = True) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, ch, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(ch)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = nn.Sequential(*(Bottleneck(ch, zero_last) for _ in range(depth)))
        self.fc = nn.Linear(ch, 10)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        x = self.layer1(self.relu(self.bn1(self.conv1(x))))
        return self.fc(x.mean(dim=(2, 3)))


class BertLayer(nn.Module):
    """A post-LN BERT layer: attention (query/key/value/dense), then intermediate/output dense."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.dense = nn.Linear(dim, dim)
        self.ln1 = nn.LayerNorm(dim)
        self.intermediate = nn.Linear(dim, 4 * dim)
        self.output = nn.Linear(4 * dim, dim)
        self.ln2 = nn.LayerNorm(dim)

    def forward(self, x: Tensor) -> Tensor:
        q, k, v = self.query(x), self.key(x), self.value(x)
        att = torch.softmax(q @ k.transpose(1, 2) / q.shape[-1] ** 0.5, dim=-1) @ v
        x = self.ln1(x + self.dense(att))
        return self.ln2(x + self.output(nn.functional.gelu(self.intermediate(x))))


class BertLike(nn.Module):
    def __init__(self, vocab: int = 200, dim: int = 64, depth: int = 2) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, dim, padding_idx=0)
        self.layer = nn.ModuleList(BertLayer(dim) for _ in range(depth))
        normal_002_(self)
        with torch.no_grad():
            self.word_embeddings.weight[0].zero_()  # Hugging Face zeroes the padding row too

    def forward(self, ids: Tensor) -> Tensor:
        x = self.word_embeddings(ids)
        for layer in self.layer:
            x = layer(x)
        return x


def middle_growth_mlp(depth: int = 12, width: int = 64, gain: float = 3.0) -> nn.Sequential:
    """He-initialised ReLU MLP whose layers 3-6 are scaled by ``gain`` and 7-10 by ``1/gain``: the
    signal grows ``gain^4`` in the middle and falls back, so the first and last layers agree."""
    layers: list[nn.Module] = []
    g = _g(0)
    for i in range(depth):
        lin = nn.Linear(width, width, bias=False)
        with torch.no_grad():
            lin.weight.normal_(0.0, (2.0 / width) ** 0.5, generator=g)
            lin.weight.mul_(gain if 3 <= i <= 6 else 1 / gain if 7 <= i <= 10 else 1.0)
        layers += [lin, nn.ReLU()]
    return nn.Sequential(*layers)
