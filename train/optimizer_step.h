// The update after each backward pass: gradient clipping by global norm, then the optimizer step.
//
// For AdamW on float32 CPU parameters both are fused: the global norm is one parallel reduction
// over every gradient, and the clipping factor is folded into one pass per parameter that applies
// the decoupled weight decay and updates both moments and the weight (LibTorch's AdamW makes
// seven passes per parameter, and clip_grad_norm_ two more). The arithmetic is AdamW::step's, in
// the same order, on the same state objects (so checkpoints and resumption are unchanged); other
// optimizers, amsgrad and other devices take clip_grad_norm_ and optimizer.step().
#pragma once

#include <vector>

#include <torch/optim/optimizer.h>

namespace seqlab {

// clip 0: no clipping. `parameters` are those whose gradients are clipped (the model's).
void clip_and_step(torch::optim::Optimizer& optimizer, const std::vector<torch::Tensor>& parameters,
                   double clip);

}  // namespace seqlab
