#!/usr/bin/env python3
"""The `seqlab bench train` model written in Python PyTorch, for a like-for-like comparison.

Same architecture (bidirectional GRU encoder, emb 256, hidden 512, GRU decoder bridged from the
encoder summary and fed it at every step, output through an embedding-width layer, vocab 8000),
same synthetic length distribution (5-25 source tokens), same token-budget batches, AdamW,
label smoothing 0.1, clipping 1.0. Prints target tokens per second as JSON.

    apt-get install python3-torch      # Debian's PyTorch, the same 1.13 as libtorch-dev
    python3 bench/pytorch_gru_seq2seq.py --threads 2
"""
import argparse
import json
import random
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PAD, BOS, EOS = 0, 2, 3


class Seq2Seq(nn.Module):
    def __init__(self, vocab, emb=256, hidden=512, dropout=0.1):
        super().__init__()
        self.src_embedding = nn.Embedding(vocab, emb, padding_idx=PAD)
        self.encoder = nn.GRU(emb, hidden, batch_first=True, bidirectional=True)
        self.tgt_embedding = nn.Embedding(vocab, emb, padding_idx=PAD)
        self.bridge = nn.Linear(2 * hidden, hidden)
        self.decoder = nn.GRU(emb + 2 * hidden, hidden, batch_first=True)
        self.pre_output = nn.Linear(hidden, emb)
        self.output = nn.Linear(emb, vocab)
        self.dropout = nn.Dropout(dropout)
        self.hidden = hidden

    def forward(self, src, src_lengths, tgt_in):
        embedded = self.dropout(self.src_embedding(src))
        packed = nn.utils.rnn.pack_padded_sequence(embedded, src_lengths, batch_first=True,
                                                   enforce_sorted=False)
        _, h = self.encoder(packed)                       # [2, B, H]
        summary = torch.cat([h[0], h[1]], -1)             # [B, 2H]
        h0 = torch.tanh(self.bridge(summary)).unsqueeze(0)
        tgt = self.dropout(self.tgt_embedding(tgt_in))
        context = summary.unsqueeze(1).expand(-1, tgt.size(1), -1)
        out, _ = self.decoder(torch.cat([tgt, context], -1), h0)
        return self.output(self.dropout(self.pre_output(self.dropout(out))))


def synthetic(count, vocab, rng):
    pairs = []
    for _ in range(count):
        s = 5 + rng.randrange(21)
        t = max(3, s + rng.randrange(7) - 2)
        pairs.append(([4 + rng.randrange(vocab - 4) for _ in range(s)],
                      [4 + rng.randrange(vocab - 4) for _ in range(t)]))
    return pairs


def batches(pairs, max_tokens):
    order = sorted(range(len(pairs)), key=lambda i: max(len(pairs[i][0]), len(pairs[i][1]) + 1))
    out, current, longest = [], [], 0
    for i in order:
        length = max(len(pairs[i][0]), len(pairs[i][1]) + 1)
        if current and (len(current) + 1) * max(longest, length) > max_tokens:
            out.append(current)
            current, longest = [], 0
        current.append(i)
        longest = max(longest, length)
    if current:
        out.append(current)
    return out


def collate(pairs, indices):
    src_len = max(len(pairs[i][0]) for i in indices)
    tgt_len = max(len(pairs[i][1]) for i in indices) + 1
    src = torch.zeros(len(indices), src_len, dtype=torch.long)
    tin = torch.zeros(len(indices), tgt_len, dtype=torch.long)
    tout = torch.zeros(len(indices), tgt_len, dtype=torch.long)
    lengths = []
    for b, i in enumerate(indices):
        s, t = pairs[i]
        src[b, :len(s)] = torch.tensor(s)
        tin[b, 0] = BOS
        tin[b, 1:len(t) + 1] = torch.tensor(t)
        tout[b, :len(t)] = torch.tensor(t)
        tout[b, len(t)] = EOS
        lengths.append(len(s))
    return src, torch.tensor(lengths), tin, tout, sum(len(pairs[i][1]) + 1 for i in indices)


def time_training(model, forward, pairs, all_batches, steps, vocab):
    """Target tokens per second of AdamW training steps; forward(model, src, lengths, tin) -> logits.
    The first three steps warm up and are not counted."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    tokens, seconds = 0, 0.0
    for step in range(steps + 3):
        src, lengths, tin, tout, n = collate(pairs, all_batches[step % len(all_batches)])
        start = time.perf_counter()
        logits = forward(model, src, lengths, tin)
        loss = F.cross_entropy(logits.reshape(-1, vocab), tout.reshape(-1), ignore_index=PAD,
                               label_smoothing=0.1)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if step >= 3:
            seconds += time.perf_counter() - start
            tokens += n
    return tokens / seconds


def benchmark_arguments():
    """The command-line options both benchmark scripts share."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-tokens", type=int, default=4000)
    return parser


def training_data(args, vocab):
    """Threads and seed set; the synthetic pairs and their shuffled token-budget batches."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    pairs = synthetic(20000, vocab, random.Random(1))
    all_batches = batches(pairs, args.batch_tokens)
    random.Random(1).shuffle(all_batches)
    return pairs, all_batches


def main():
    args = benchmark_arguments().parse_args()
    vocab = 8000
    pairs, all_batches = training_data(args, vocab)
    rate = time_training(Seq2Seq(vocab), lambda m, src, lengths, tin: m(src, lengths, tin), pairs,
                         all_batches, args.steps, vocab)
    print(json.dumps({"benchmark": "train", "implementation": "python-pytorch",
                      "threads": args.threads, "target_tokens_per_s": rate}))


if __name__ == "__main__":
    main()
