"""Negative controls of efficiency's measured (timing) claims: settings of the same command in which the claim's
phenomenon is absent, so its verdict there must be no or cannot tell, never yes. Both take 32x32 inputs at batch
1, where a forward pass is per-layer overhead (Python dispatch and kernel launches, a few tens of microseconds a
layer) rather than arithmetic: full-width MobileNet needs 12.6M Mult-Adds there, 1/45 of its 569M at 224."""

from deepgen_cli.engine.outcome import Control

CONTROLS = (
    Control(
        label="SqueezeNet and MobileNet at 32x32 input",
        overrides=dict(models=("squeezenet@32", "mobilenet@32"), threads=1, min_time_s=0.2),
        claims=("MobileNets are optimized for latency",),
        why="MobileNet's latency design cuts Mult-Adds; at 32x32 its 28 convolutions, each with batch norm and "
            "ReLU (83 layers), cost per-layer overhead that SqueezeNet's 26 convolutions without batch norm do "
            "not, and the Mult-Adds left (12.6M against SqueezeNet's 9.7M) no longer favour it: MobileNet has no "
            "latency advantage to show"),
    Control(
        label="the MobileNet family at 32x32 input (widths 0.25, 0.5, 1)",
        overrides=dict(models=("mobilenet:0.25@32", "mobilenet:0.5@32", "mobilenet@32"), threads=1, min_time_s=0.2),
        claims=("Mult-Adds predict latency",),
        why="the three widths span 12x in Mult-Adds (1.1M to 12.6M) but run the same 83 layers; at 32x32 the "
            "per-layer overhead is most of each forward pass, so latency follows the layer count, not Mult-Adds"),
)
