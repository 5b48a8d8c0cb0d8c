// Placeholder: replaced by the Tensors implementation.
