"""The portrait U-Net: model, data, training and distillation from any contract model."""
