"""Descant's melody model in PyTorch: a decoder-only transformer whose control vector (style
mixture + attributes) is added to every position, with a one-token KV-cache `step` for export to
the step contract v1 (docs/MODEL.md)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
    def __init__(self, d: int, heads: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
        self.drop = nn.Dropout(dropout)

    def _split(self, x):
        b, t, d = x.shape
        return x.view(b, t, self.heads, d // self.heads).transpose(1, 2)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        att = F.scaled_dot_product_attention(
            self._split(q),
            self._split(k),
            self._split(v),
            is_causal=True,
            # No dropout on the attention weights: with it PyTorch's CPU kernel falls back to the
            # unfused path, which took half the training step (measured); residual dropout stays.
        )
        x = x + self.drop(self.proj(att.transpose(1, 2).reshape(b, t, d)))
        return x + self.drop(self.mlp(self.ln2(x)))

    def step(self, x, past_k, past_v):
        """x [B,1,d]; past [B,H,P,D] -> x, k_all, v_all (explicit MatMul/Softmax for export).

        The batch is never read off a shape: every reshape says -1 for it, so the exported graph
        takes any batch without Shape operators (docs/MODEL.md, "Batches")."""
        d, heads = self.qkv.in_features, self.heads
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q, k, v = (y.reshape(-1, 1, heads, d // heads).transpose(1, 2) for y in (q, k, v))
        k_all = torch.cat([past_k, k], dim=2)
        v_all = torch.cat([past_v, v], dim=2)
        scores = torch.matmul(q, k_all.transpose(2, 3)) / math.sqrt(d // heads)
        att = torch.matmul(torch.softmax(scores, dim=-1), v_all)
        x = x + self.proj(att.transpose(1, 2).reshape(-1, 1, d))
        return x + self.mlp(self.ln2(x)), k_all, v_all


class MelodyModel(nn.Module):
    def __init__(self, vocab: int, d: int, layers: int, heads: int, max_context: int, control: int, dropout: float):
        super().__init__()
        self.config = dict(vocab=vocab, d=d, layers=layers, heads=heads, max_context=max_context, control=control, dropout=dropout)
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(max_context, d)
        self.ctl = nn.Linear(control, d, bias=False)
        self.blocks = nn.ModuleList(Block(d, heads, dropout) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)
        self.drop = nn.Dropout(dropout)

    def forward(self, tokens, control):
        """tokens [B,T], control [B,C] -> logits [B,T,V]."""
        t = tokens.shape[1]
        pos = torch.arange(t, device=tokens.device)
        x = self.tok(tokens) + self.pos(pos)[None] + self.ctl(control)[:, None, :]
        x = self.drop(x)
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.ln_f(x))


class StepGraph(nn.Module):
    """The exported contract: one token with a KV cache."""

    def __init__(self, model: MelodyModel):
        super().__init__()
        self.m = model

    def forward(self, token, position, control, past_key, past_value):
        m = self.m
        x = m.tok(token) + m.pos(position)[:, None, :] + m.ctl(control)[:, None, :]
        keys, values = [], []
        for i, blk in enumerate(m.blocks):
            x, k, v = blk.step(x, past_key[i], past_value[i])
            keys.append(k)
            values.append(v)
        logits = m.head(m.ln_f(x))[:, 0, :]
        return logits, torch.stack(keys), torch.stack(values)
