#!/usr/bin/env python3
"""The `seqlab bench train|decode --model transformer` model in Python PyTorch.

Same architecture as seqlab's preset (nn.Transformer, 3+3 layers, d_model 256, 4 heads,
feed-forward 1024, pre-norm, dropout 0.1, sinusoidal positions, shared and tied embeddings scaled
by sqrt(d), vocab 8000), same synthetic data and token-budget batches as the GRU script. Prints
training target tokens/s and greedy decoding sentences/s (nn.Transformer has no key/value cache:
every step re-runs the decoder over the whole prefix, as seqlab's kv_cache=false does).

    apt-get install python3-torch      # Debian's PyTorch, the same 1.13 as libtorch-dev
    python3 bench/pytorch_transformer.py --threads 2
"""
import json
import math
import random
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from pytorch_gru_seq2seq import (BOS, EOS, PAD, batches, benchmark_arguments, collate, synthetic,
                                 time_training, training_data)


class Transformer(nn.Module):
    def __init__(self, vocab, d=256, heads=4, ffn=1024, layers=3, dropout=0.1):
        super().__init__()
        self.embedding = nn.Embedding(vocab, d, padding_idx=PAD)
        nn.init.normal_(self.embedding.weight, 0.0, d ** -0.5)
        self.core = nn.Transformer(d, heads, layers, layers, ffn, dropout, batch_first=True,
                                   norm_first=True)
        self.bias = nn.Parameter(torch.zeros(vocab))
        self.dropout = nn.Dropout(dropout)
        self.d = d

    def embed(self, ids):
        positions = torch.arange(ids.size(1), dtype=torch.float).unsqueeze(1)
        inverse = torch.exp(torch.arange(0, self.d, 2, dtype=torch.float) * (-math.log(10000.0) / self.d))
        table = torch.stack([torch.sin(positions * inverse), torch.cos(positions * inverse)], -1).flatten(-2)
        return self.dropout(self.embedding(ids) * math.sqrt(self.d) + table)

    def encode(self, src):
        return self.core.encoder(self.embed(src), src_key_padding_mask=src == PAD)

    def decode(self, memory, src, tgt_in):
        causal = self.core.generate_square_subsequent_mask(tgt_in.size(1))
        out = self.core.decoder(self.embed(tgt_in), memory, tgt_mask=causal,
                                memory_key_padding_mask=src == PAD)
        return F.linear(out, self.embedding.weight, self.bias)

    def forward(self, src, tgt_in):
        return self.decode(self.encode(src), src, tgt_in)


def main():
    parser = benchmark_arguments()
    parser.add_argument("--sentences", type=int, default=100)
    args = parser.parse_args()
    vocab = 8000
    pairs, all_batches = training_data(args, vocab)
    model = Transformer(vocab)
    rate = time_training(model, lambda m, src, lengths, tin: m(src, tin), pairs, all_batches,
                         args.steps, vocab)
    # Greedy decoding without a cache, 1.2 x source + 2 steps (an untrained model rarely stops).
    model.eval()
    decode_pairs = synthetic(args.sentences, vocab, random.Random(2))
    start = time.perf_counter()
    with torch.inference_mode():
        for indices in batches(decode_pairs, 2000):
            src = collate(decode_pairs, indices)[0]
            memory = model.encode(src)
            prefix = torch.full((src.size(0), 1), BOS, dtype=torch.long)
            for _ in range(int(1.2 * src.size(1)) + 2):
                logits = model.decode(memory, src, prefix)[:, -1]
                prefix = torch.cat([prefix, logits.argmax(-1, keepdim=True)], 1)
                if (prefix == EOS).any(1).all():
                    break
    decode_seconds = time.perf_counter() - start
    print(json.dumps({"benchmark": "transformer", "implementation": "python-pytorch",
                      "threads": args.threads, "target_tokens_per_s": rate,
                      "greedy_no_cache_sentences_per_s": args.sentences / decode_seconds}))


if __name__ == "__main__":
    main()
