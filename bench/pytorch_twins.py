#!/usr/bin/env python3
"""The models of `seqlab bench train|decode` written in Python PyTorch, as a researcher would.

`seqlab bench compare` starts this script and speaks to it in JSON lines: it hands over a workload
file (the training batches and the decoding batches, token ids generated once by seqlab) and then
asks for one measurement at a time, alternating with its own, so both sides run the same batches
on the same machine in the same minutes. Each reply is one JSON line on stdout.

The twins (same sizes, parameter counts checked by the caller; vocabulary 8,000):
  gru           bidirectional GRU encoder (emb 256, hidden 512, packed sequences), GRU decoder
                bridged from the encoder summary and fed it with every input token, output through
                an embedding-width layer (Cho et al. 2014)
  gru-bahdanau  the same encoder; GRUCell decoder with additive attention from the previous state,
                deep output (Bahdanau et al. 2015), a Python loop over target positions
  transformer   nn.Transformer, 3+3 layers, d_model 256, 4 heads, feed-forward 1024, pre-norm,
                separate source and target embeddings scaled by sqrt(d), sinusoidal positions,
                untied output layer; decoding recomputes the whole prefix every step (nn.Transformer
                has no key/value cache: the usual loop)

Training: AdamW, label smoothing 0.1, clipping 1.0, dropout 0.1. Decoding: greedy and beam search
with eos (and pad, bos) banned, so every hypothesis runs to the limit int(1.2 x source) + 2, as
seqlab's side is told to do: the same number of output tokens on both sides.

Decoding options, as a PyTorch user would write them: int8 weights through
torch.ao.quantization.quantize_dynamic over the Linear, GRU and GRUCell modules (the default
dynamic qconfig, on the default quantized engine; a quantized copy is made before the clock
starts), and a lexical shortlist: the output layer computes the rows seqlab's shortlist gives for
the batch (written into the workload, so both sides use the same rows), argmax and beams over them,
ids mapped back; with int8 those rows are quantized per batch.

    apt-get install python3-torch      # Debian's PyTorch: the same libtorch 1.13 as seqlab links
    seqlab bench compare               # starts this script itself
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PAD, UNK, BOS, EOS = 0, 1, 2, 3
GEMM_OPS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm"}


class GruSeq2Seq(nn.Module):
    def __init__(self, vocab, attention, emb=256, hidden=512, dropout=0.1):
        super().__init__()
        self.attention = attention
        self.src_embedding = nn.Embedding(vocab, emb, padding_idx=PAD)
        self.encoder = nn.GRU(emb, hidden, batch_first=True, bidirectional=True)
        self.tgt_embedding = nn.Embedding(vocab, emb, padding_idx=PAD)
        self.bridge = nn.Linear(2 * hidden, hidden)
        if attention:
            self.query = nn.Linear(hidden, hidden, bias=False)
            self.key = nn.Linear(2 * hidden, hidden)
            self.v = nn.Linear(hidden, 1, bias=False)
            self.cell = nn.GRUCell(emb + 2 * hidden, hidden)
            self.deep_output = nn.Linear(hidden + 2 * hidden + emb, emb)
        else:
            self.decoder = nn.GRU(emb + 2 * hidden, hidden, batch_first=True)
            self.pre_output = nn.Linear(hidden, emb)
        self.output = nn.Linear(emb, vocab)
        self.dropout = nn.Dropout(dropout)

    def encode(self, src, lengths):
        embedded = self.dropout(self.src_embedding(src))
        packed = nn.utils.rnn.pack_padded_sequence(embedded, lengths, batch_first=True,
                                                   enforce_sorted=False)
        out, h = self.encoder(packed)                        # h [2, B, H]
        memory = {"summary": torch.cat([h[0], h[1]], -1)}    # [B, 2H]
        if self.attention:                                   # the states only matter to attention
            states, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True,
                                                         total_length=src.size(1))
            memory.update(states=self.dropout(states), mask=src != PAD)  # [B, S, 2H], [B, S]
        return memory

    def start(self, memory):
        state = {"h": torch.tanh(self.bridge(memory["summary"])), "summary": memory["summary"]}
        if self.attention:
            state.update(states=memory["states"], mask=memory["mask"],
                         keys=self.key(memory["states"]))   # U h_j, once per source
        return state

    def attend(self, state, query):                          # query [B, H] -> context [B, 2H]
        scores = self.v(torch.tanh(self.query(query).unsqueeze(1) + state["keys"])).squeeze(-1)
        weights = torch.softmax(scores.masked_fill(~state["mask"], float("-inf")), -1)
        return torch.bmm(weights.unsqueeze(1), state["states"]).squeeze(1)

    def advance(self, state, embedded):                      # embedded [B, E] -> features [B, E]
        context = self.attend(state, state["h"])
        state["h"] = self.cell(torch.cat([embedded, context], -1), state["h"])
        return torch.tanh(self.deep_output(self.dropout(
            torch.cat([state["h"], context, embedded], -1))))

    def forward(self, src, lengths, tgt_in):
        state = self.start(self.encode(src, lengths))
        tgt = self.dropout(self.tgt_embedding(tgt_in))       # [B, T, E]
        if self.attention:
            features = torch.stack([self.advance(state, tgt[:, t]) for t in range(tgt.size(1))], 1)
            return self.output(self.dropout(features))
        context = state["summary"].unsqueeze(1).expand(-1, tgt.size(1), -1)
        out, _ = self.decoder(torch.cat([tgt, context], -1), state["h"].unsqueeze(0))
        return self.output(self.dropout(self.pre_output(self.dropout(out))))

    def step(self, state, previous):                         # previous [B] -> logits [B, V]
        embedded = self.dropout(self.tgt_embedding(previous))
        if self.attention:
            return self.output(self.dropout(self.advance(state, embedded)))
        inputs = torch.cat([embedded, state["summary"]], -1).unsqueeze(1)
        out, h = self.decoder(inputs, state["h"].unsqueeze(0))
        state["h"] = h.squeeze(0)
        return self.output(self.dropout(self.pre_output(self.dropout(out.squeeze(1)))))

    def reorder(self, state, index):
        state["h"] = state["h"].index_select(0, index)


class Transformer(nn.Module):
    def __init__(self, vocab, d=256, heads=4, ffn=1024, layers=3, dropout=0.1):
        super().__init__()
        self.src_embedding = nn.Embedding(vocab, d, padding_idx=PAD)
        self.tgt_embedding = nn.Embedding(vocab, d, padding_idx=PAD)
        for table in (self.src_embedding, self.tgt_embedding):
            nn.init.normal_(table.weight, 0.0, d ** -0.5)
        self.core = nn.Transformer(d, heads, layers, layers, ffn, dropout, batch_first=True,
                                   norm_first=True)
        self.output = nn.Linear(d, vocab)
        self.dropout = nn.Dropout(dropout)
        self.d = d

    def embed(self, table, ids):
        positions = torch.arange(ids.size(1), dtype=torch.float).unsqueeze(1)
        inverse = torch.exp(torch.arange(0, self.d, 2, dtype=torch.float) * (-math.log(10000.0) / self.d))
        angles = positions * inverse
        sinusoids = torch.stack([torch.sin(angles), torch.cos(angles)], -1).flatten(-2)
        return self.dropout(table(ids) * math.sqrt(self.d) + sinusoids)

    def encode(self, src, lengths):
        mask = src != PAD
        states = self.core.encoder(self.embed(self.src_embedding, src), src_key_padding_mask=~mask)
        return {"states": states, "mask": mask}

    def decode(self, memory, tgt_in):
        causal = self.core.generate_square_subsequent_mask(tgt_in.size(1))
        out = self.core.decoder(self.embed(self.tgt_embedding, tgt_in), memory["states"],
                                tgt_mask=causal, memory_key_padding_mask=~memory["mask"])
        return self.output(out)

    def forward(self, src, lengths, tgt_in):
        return self.decode(self.encode(src, lengths), tgt_in)

    def start(self, memory):
        batch = memory["states"].size(0)
        return dict(memory, prefix=torch.zeros(batch, 0, dtype=torch.long))

    def step(self, state, previous):                         # the usual loop: the whole prefix again
        state["prefix"] = torch.cat([state["prefix"], previous.unsqueeze(1)], 1)
        return self.decode(state, state["prefix"])[:, -1]

    def reorder(self, state, index):
        state["prefix"] = state["prefix"].index_select(0, index)


def build(name, vocab):
    if name == "gru":
        return GruSeq2Seq(vocab, attention=False)
    if name == "gru-bahdanau":
        return GruSeq2Seq(vocab, attention=True)
    if name == "transformer":
        return Transformer(vocab)
    raise ValueError(f"unknown model {name!r}: gru, gru-bahdanau, transformer")


def collate(sources, targets=None):
    """Right-padded ids; target_in = bos + target, target_out = target + eos (seqlab's Batch)."""
    src = torch.zeros(len(sources), max(len(s) for s in sources), dtype=torch.long)
    for b, s in enumerate(sources):
        src[b, :len(s)] = torch.tensor(s)
    lengths = torch.tensor([len(s) for s in sources])
    if targets is None:
        return src, lengths
    length = max(len(t) for t in targets) + 1
    tin = torch.zeros(len(targets), length, dtype=torch.long)
    tout = torch.zeros(len(targets), length, dtype=torch.long)
    for b, t in enumerate(targets):
        tin[b, 0] = BOS
        tin[b, 1:len(t) + 1] = torch.tensor(t)
        tout[b, :len(t)] = torch.tensor(t)
        tout[b, len(t)] = EOS
    return src, lengths, tin, tout, sum(len(t) + 1 for t in targets)


class Twins:
    def __init__(self, workload):
        self.workload = workload
        self.vocab = workload["vocab"]
        self.models, self.optimizers = {}, {}
        # Collated once, outside the timed region, as seqlab collates outside its timer.
        self.train_batches = [collate(b["source"], b["target"]) for b in workload["train"]]
        self.decode_batches = {
            int(beam): [collate(b["source"]) + (torch.tensor(b["shortlist"], dtype=torch.long),)
                        for b in batches]
            for beam, batches in workload["decode"].items()}

    def model(self, name):
        if name not in self.models:
            torch.manual_seed(0)
            model = build(name, self.vocab)
            self.models[name] = model
            self.optimizers[name] = torch.optim.AdamW(model.parameters(), lr=1e-3)
        return self.models[name]

    def train_step(self, name, batch):
        model, optimizer = self.model(name), self.optimizers[name]
        src, lengths, tin, tout, _ = batch
        logits = model(src, lengths, tin)
        loss = F.cross_entropy(logits.reshape(-1, self.vocab), tout.reshape(-1), ignore_index=PAD,
                               label_smoothing=0.1)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    def train(self, name):
        """Every training batch of the workload; the first `warmup` are not timed."""
        model = self.model(name)
        model.train()
        warmup = self.workload["warmup"]
        seconds, tokens = 0.0, 0
        for i, batch in enumerate(self.train_batches):
            start = time.perf_counter()
            self.train_step(name, batch)
            if i >= warmup:
                seconds += time.perf_counter() - start
                tokens += batch[4]
        return {"seconds": seconds, "target_tokens": tokens,
                "steps": len(self.train_batches) - warmup}

    def flops(self, name):
        """GEMM floating-point operations (mm, addmm, bmm: forward and backward) per target token
        of a training step, counted by PyTorch's profiler over the first timed batches."""
        model = self.model(name)
        model.train()
        batches = self.train_batches[self.workload["warmup"]:][:3]
        with torch.autograd.profiler.profile(with_flops=True) as profile:
            for batch in batches:
                self.train_step(name, batch)
        flops = sum(e.flops or 0 for e in profile.function_events if e.name in GEMM_OPS)
        return {"gemm_flops_per_target_token": flops / sum(b[4] for b in batches)}

    def profile(self, name, task):
        """Self time per operator by the profiler: ms per step over the timed training batches
        (task "train"), or ms per greedy pass over the decoding batches (task "greedy")."""
        if task == "greedy":
            with torch.autograd.profiler.profile() as profile:
                self.decode(name, 1)
            units = 1
        else:
            model = self.model(name)
            model.train()
            batches = self.train_batches[self.workload["warmup"]:]
            with torch.autograd.profiler.profile() as profile:
                for batch in batches:
                    self.train_step(name, batch)
            units = len(batches)
        return {"self_ms": {e.key: e.self_cpu_time_total / 1000 / units for e in profile.key_averages()}}

    def decode(self, name, beam, int8=False, shortlist=False):
        model = self.model(name)
        model.eval()
        fp32_output = model.output
        if int8:  # a quantized copy, made before the clock starts
            model = torch.ao.quantization.quantize_dynamic(
                model, {nn.Linear, nn.GRU, nn.GRUCell}, dtype=torch.qint8)
            # torch 1.13's encoder-layer fast path reads linear.weight as a tensor, which a
            # quantized Linear's is not (AttributeError): the quantized copy takes the plain path.
            for layer in getattr(getattr(model, "core", None), "encoder", nn.Module()).children():
                for sublayer in layer if isinstance(layer, nn.ModuleList) else [layer]:
                    if hasattr(sublayer, "activation_relu_or_gelu"):
                        sublayer.activation_relu_or_gelu = False
        ratio, extra = self.workload["max_length_ratio"], self.workload["max_length_extra"]
        start = time.perf_counter()
        sentences, produced = 0, 0
        with torch.inference_mode():
            for src, lengths, rows in self.decode_batches[beam]:
                steps = int(ratio * src.size(1)) + extra
                if shortlist:
                    full = model.output
                    model.output = Shortlisted(fp32_output, rows, int8)
                    tokens = rows[search(model, src, lengths, beam, steps, rows)]
                    model.output = full
                else:
                    tokens = search(model, src, lengths, beam, steps)
                sentences += src.size(0)
                produced += tokens.numel()
        return {"seconds": time.perf_counter() - start, "sentences": sentences,
                "output_tokens": produced}


class Shortlisted(nn.Module):
    """The output layer restricted to the shortlist's rows: logits over those alone."""

    def __init__(self, output, rows, int8):
        super().__init__()
        weight, bias = output.weight.index_select(0, rows), output.bias.index_select(0, rows)
        self.linear = None
        if int8:
            scale = weight.abs().max().item() / 127.0
            packed = torch.ops.quantized.linear_prepack(
                torch.quantize_per_tensor(weight, scale, 0, torch.qint8), bias)
            self.linear = lambda x: torch.ops.quantized.linear_dynamic(x, packed)
        else:
            self.linear = lambda x: F.linear(x, weight, bias)

    def forward(self, x):
        return self.linear(x)


def search(model, src, lengths, beam, steps, rows=None):
    """Greedy (beam 1) or beam search for exactly `steps` tokens: pad, bos and eos are banned.
    Returns the best hypotheses' tokens [B, steps]; with a shortlist (the output layer computes
    `rows` only), positions in `rows`."""
    batch = src.size(0)
    memory = model.encode(src, lengths)
    if beam > 1:
        memory = {k: v.repeat_interleave(beam, 0) for k, v in memory.items()}  # rows b*K + k
    state = model.start(memory)
    previous = torch.full((batch * beam,), BOS, dtype=torch.long)
    banned = torch.tensor([PAD, BOS, EOS])
    if rows is not None:
        banned = torch.nonzero(torch.isin(rows, banned)).squeeze(1)
    ids = (lambda position: rows[position]) if rows is not None else (lambda token: token)
    if beam == 1:
        out = []
        for _ in range(steps):
            log_probs = torch.log_softmax(model.step(state, previous), -1)
            log_probs.index_fill_(-1, banned, float("-inf"))
            position = log_probs.argmax(-1)
            previous = ids(position)
            out.append(position)
        return torch.stack(out, 1)
    scores = torch.full((batch, beam), float("-inf"))
    scores[:, 0] = 0.0
    history = torch.zeros(batch, beam, 0, dtype=torch.long)
    row_offset = (torch.arange(batch) * beam).unsqueeze(1)
    for _ in range(steps):
        log_probs = torch.log_softmax(model.step(state, previous), -1)
        log_probs.index_fill_(-1, banned, float("-inf"))
        vocab = log_probs.size(-1)
        candidates = (scores.unsqueeze(-1) + log_probs.view(batch, beam, vocab)).view(batch, -1)
        scores, index = candidates.topk(beam, -1)
        origin, token = index // vocab, index % vocab
        model.reorder(state, (origin + row_offset).view(-1))
        history = torch.cat([history.gather(1, origin.unsqueeze(-1).expand(-1, -1, history.size(2))),
                             token.unsqueeze(-1)], 2)
        previous = ids(token.view(-1))
    return history[:, 0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workload", required=True, help="JSON written by `seqlab bench compare`")
    parser.add_argument("--threads", type=int, required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with open(args.workload) as f:
        twins = Twins(json.load(f))
    reply = {"ready": True, "torch": torch.__version__, "python": sys.version.split()[0],
             "threads": torch.get_num_threads(),
             "quantized_engine": torch.backends.quantized.engine}
    print(json.dumps(reply), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        op, name = request["op"], request.get("model")
        if op == "quit":
            break
        if op == "parameters":
            reply = {"parameters": sum(p.numel() for p in twins.model(name).parameters())}
        elif op == "train":
            reply = twins.train(name)
        elif op == "profile":
            reply = twins.profile(name, request["task"])
        elif op == "flops":
            reply = twins.flops(name)
        elif op == "decode":
            reply = twins.decode(name, request["beam"], request.get("int8", False),
                                 request.get("shortlist", False))
        else:
            raise ValueError(f"unknown request {op!r}")
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
