"""Model builders; importing this package fills the registry."""

from deepgen_cli.engine.models import densenet_cifar, mobilenet_v1, small, zoo  # noqa: F401
