// The closed-form fitter (train.method=ridge): for models whose only trained part is the
// decoder's linear readout (reservoir and ELM families), one teacher-forced pass over the
// training data streams the readout's input features into float64 ridge sums (train/ridge.h),
// the penalty is chosen on the validation split from a grid with one eigendecomposition, and the
// solution becomes the readout's weights, scaled by one temperature fitted on validation tokens
// so that a softmax over the regression scores is a usable distribution (for beam search and the
// validation loss; no argmax changes). The run directory is the trainer's: config.json,
// tokenizer.json, best.safetensors, checkpoint.safetensors, metrics.jsonl, and the same
// TrainResult.
//
// Resume: checkpoint.safetensors holds the sums and how many batches they cover (written every
// train.checkpoint_every batches and at the end), so --resume after a kill continues the pass
// where the last checkpoint left it, and a resume with a larger train.max_steps (batches) or
// train.max_minutes extends a partial pass; the readout is then solved again from all the sums.
#pragma once

#include <string>

#include "models/seq2seq.h"
#include "train/distributed.h"
#include "train/trainer.h"

namespace seqlab {

TrainResult fit_readout(const Config& config, const std::string& run_dir, bool resume,
                        const DistributedOptions& distributed = {});

// InputError unless the decoder has an untied readout and nothing else in the model is
// trainable; the message names the trainable parameters and points to train.method=sgd.
void check_ridge_fittable(Seq2Seq& model);

}  // namespace seqlab
