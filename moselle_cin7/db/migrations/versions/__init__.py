"""Migration scripts, oldest first by revision id. A package so that wheels ship them."""
