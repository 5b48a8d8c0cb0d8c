// Placeholder: replaced by the ImageIO implementation.
