// Packing the real positions of a padded batch into rows of their own and back, so that the
// position-wise products (projections, feed-forward blocks) skip the padding: the transformer
// encoder runs its layers on [real positions, D] and pads only around attention.
#pragma once

#include <torch/types.h>

namespace seqlab {

// x [R, D], rows [N] (int64, distinct) -> x[rows] [N, D].
torch::Tensor gather_rows(const torch::Tensor& x, const torch::Tensor& rows);
// x [N, D], rows [N] (distinct, < total) -> [total, D] with row rows[i] = x[i], zeros elsewhere.
torch::Tensor scatter_rows(const torch::Tensor& x, const torch::Tensor& rows, int64_t total);

}  // namespace seqlab
