"""The measuring engine: torch, torchvision and fvcore only; it never prints."""
