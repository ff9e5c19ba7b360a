"""Who is talking: signed session tokens, anonymous aliases and the signing secret."""
