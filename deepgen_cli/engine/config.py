"""Options declared once. An `Opt` holds a flag's names, help, valid range and text form; a config field
made from it (`EPOCHS(300)`) carries it in its metadata, so the CLI builds its options from the config
classes and `Options.check` validates every field with the same rule and message everywhere.

The option groups shared by commands (run, data, training) are keyword-only frozen dataclasses; a command's
config inherits the groups it uses (RunOptions, DataConfig, TrainOptions or the whole TrainConfig) and redeclares
a field only to change its default.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Callable

from deepgen_cli.engine.errors import UsageError

MAX_THREADS = 256
MAX_REPEATS = 100
# A seed is handed to torch, numpy and random alike; numpy takes at most 2**32 - 1, and a run uses seed .. seed +
# repeats - 1, so seeds stop MAX_REPEATS short of that.
MAX_SEED = 2 ** 32 - 1 - MAX_REPEATS
# Epochs: 100,000 passes over even the 1,347 digits images is days of CPU here (Zhang et al. ran at most a few
# thousand); more is a typo, and an unbounded count never ends.
MAX_EPOCHS = 100_000
# The learning rate multiplies float32 gradients: above float32's largest value (3.4e38) it is infinite in the
# step itself. Up to that the run is allowed to diverge and says so ("lower --lr").
MAX_LR = 3.4028234663852886e38
# Examples per batch: a batch is allocated whole; more than a million is a typo. Whether a smaller batch fits in
# memory is checked where its input size is known (efficiency: efficiency/batch.py, training: the dataset).
MAX_BATCH = 1_000_000
DATASETS = ("digits", "synthetic", "cifar10", "mnist", "fashion-mnist", "imagefolder")
IMAGE_SIZE_RANGE = (4, 512)  # pixels; below 4 no model has anything to see, above 512 is a typo here
MAX_SYNTHETIC = 1_000_000  # examples per split; a million 3x32x32 float32 images is 12 GB
MAX_CLASSES = 100_000
# memorize's --corruption kinds (engine/data/corrupt.py applies them): here, where --help reads them without torch
CORRUPTIONS = ("labels", "random-labels", "shuffled-pixels", "random-pixels", "gaussian")


@dataclass(frozen=True)
class Opt:
    """One command-line option: its flags, help, the CLI's type, and how its value is checked and written."""

    flags: tuple[str, ...]  # long flag first: "--epochs", "-e"
    help: str
    type: type = str  # what the CLI parses before `parse`: str, int, float or bool
    check: Callable[[Any], bool] | None = None  # True when a value is valid
    valid: str = ""  # the valid values, for the error message: "--epochs: must be 1 or more, got 0"
    parse: Callable[[str, str], Any] | None = None  # (text, flag) -> value, for lists and shapes
    show: Callable[[Any], str] | None = None  # value -> the text the CLI shows as default
    metavar: str | None = None
    optional: bool = False  # the value may be None (not given); `check` sees only given values
    panel: str | None = None  # the --help section it is listed in (None: the command's own options, first)

    @property
    def flag(self) -> str:
        return self.flags[0]

    def but(self, **changes) -> Opt:
        """This option with some parts changed: a shared option's help as the command it is shown in says it."""
        return dataclasses.replace(self, **changes)

    def __call__(self, default) -> Any:
        """A dataclass field with this option and `default`."""
        return field(default=default, metadata={"option": self})

    def read(self, value) -> Any:
        """A value read from a record's config (JSON), checked as the CLI checks the flag's text: a list or text
        goes through `parse` (text is taken as the CLI would take it; a list keeps its values), a scalar must have
        the option's type. A UsageError naming the flag otherwise, so a hand-edited record fails in one line.
        Ranges are the config's `check`, the same for a flag and a record."""
        if value is None:
            if self.optional:
                return None
            raise UsageError(f"{self.flag}: the record gives null; this option needs a value")
        if self.parse is not None:
            if isinstance(value, str):
                return self.parse(value, self.flag)
            if not isinstance(value, (list, tuple)):
                raise UsageError(f"{self.flag}: the record gives {value!r}, not a list or text")
            try:
                self.parse(self.text(value), self.flag)
            except (TypeError, ValueError) as err:
                raise UsageError(f"{self.flag}: cannot read the record's {value!r} ({err})") from None
            return tuple(value)
        return _scalar(value, self.type, self.flag)

    def text(self, value) -> Any:
        """The value as the CLI takes it (a list as comma-separated text)."""
        if value is None or self.show is None:
            return value
        return self.show(value)


def opt(*flags: str, help: str, type: type = str, check=None, valid: str = "", parse=None, show=None,
        metavar: str | None = None, optional: bool = False, panel: str | None = None, choices: tuple = ()) -> Opt:
    """An option; `choices` is shorthand for a check that the value is one of them."""
    if choices:
        check, valid = (lambda v: v in choices), "one of: " + ", ".join(choices)
        # the values as the label, as typer shows an Enum's, where they are short: a longer label narrows the
        # help column of the whole panel at 80 columns (the help then lists them)
        listed = "[" + "|".join(choices) + "]"
        metavar = metavar or (listed if len(listed) <= 13 else None)
    return Opt(tuple(flags), help, type, check, valid, parse, show, metavar, optional, panel)


def _scalar(value, kind: type, name: str) -> Any:
    """`value` when it is a JSON scalar of `kind` (an int is a float too; a bool is no number), else a UsageError."""
    kinds = {bool: (bool,), int: (int,), float: (int, float)}.get(kind, (str,))
    if not isinstance(value, kinds) or (kind is not bool and isinstance(value, bool)):
        raise UsageError(f"{name}: the record gives {value!r}, not {'text' if kinds == (str,) else kind.__name__}")
    return value


def read_field(f: dataclasses.Field, value) -> Any:
    """A config field's value from a record: an option's as its flag reads it (`Opt.read`); a field that is no
    option (a fixed setting such as probe's alpha) must have its default's type."""
    if "option" in f.metadata:
        return f.metadata["option"].read(value)
    default = f.default if f.default is not dataclasses.MISSING else None
    if default is None:
        return value  # no type to hold it against (none of deepgen's configs has such a field)
    if isinstance(default, tuple):
        if not isinstance(value, (list, tuple)):
            raise UsageError(f"{f.name}: the record gives {value!r}, not a list")
        return tuple(value)
    return _scalar(value, type(default), f.name)


def option_fields(cls) -> list[tuple[dataclasses.Field, Opt]]:
    """The fields of a config class that are command-line options, in declaration order."""
    return [(f, f.metadata["option"]) for f in dataclasses.fields(cls) if "option" in f.metadata]


def flag_of(cls, name: str) -> str:
    return next(o.flag for f, o in option_fields(cls) if f.name == name)


# --- parsing and checking helpers ----------------------------------------------------------------------

def split_list(text) -> list[str]:
    """The items of a comma list, stripped, empty ones skipped: " a, ,b " -> ["a", "b"]."""
    return [p.strip() for p in str(text).split(",") if p.strip()]


def parse_list(kind: type, example: str) -> Callable[[str, str], tuple]:
    """A parser of comma-separated values of `kind` ("0,0.5,1" -> (0.0, 0.5, 1.0)); empty items are skipped."""

    def parse(text: str, flag: str) -> tuple:
        parts = split_list(text)
        if not parts:
            raise UsageError(f"{flag}: give at least one value, e.g. {flag} {example}")
        try:
            values = tuple(kind(p) for p in parts)
        except ValueError:
            raise UsageError(f"{flag}: cannot read '{text}'; write comma-separated values, e.g. {example}") from None
        return once(values, parts, flag)

    return parse


def once(values: tuple, parts: list[str], flag: str) -> tuple:
    """`values` if no two are equal (1 and 1.0 are), else a usage error naming the repeat. Every list option
    refuses a repeat alike: a row per value would give two rows one --resume key, dropping one silently would
    measure less than was asked."""
    seen: dict = {}
    for value, part in zip(values, parts):
        if value in seen:
            raise UsageError(f"{flag}: '{part}' is given twice ({seen[value]!r} before it); give each value once")
        seen[value] = part
    return values


def show_list(values) -> str:
    return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)


def finite(v) -> bool:
    # an int is finite however large (math.isfinite overflows on one beyond float range: --seed 1e400 as digits)
    return (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and math.isfinite(v))


def positive(v) -> bool:
    return finite(v) and v > 0


def non_negative(v) -> bool:
    return finite(v) and v >= 0


def at_least(n: int) -> Callable[[Any], bool]:
    return lambda v: v >= n


def between(lo: float, hi: float) -> Callable[[Any], bool]:
    return lambda v: finite(v) and lo <= v <= hi


def parse_shape(text: str, flag: str = "--synthetic-shape") -> tuple[int, int, int]:
    """'3x32x32' -> (3, 32, 32): channels x height x width, square images."""
    try:
        c, h, w = (int(p) for p in str(text).lower().split("x"))
    except ValueError:
        raise UsageError(f"{flag}: cannot read '{text}'; write CHANNELSxHEIGHTxWIDTH, e.g. 3x32x32") from None
    if min(c, h, w) < 1 or h != w or c > 64 or h > IMAGE_SIZE_RANGE[1]:
        raise UsageError(f"{flag}: '{text}' must be square with 1-64 channels and sides of 1 to "
                         f"{IMAGE_SIZE_RANGE[1]} pixels, e.g. 3x32x32")
    return c, h, w


def parse_counts(text: str, flag: str = "--synthetic-examples") -> tuple[int, int]:
    """'1000,500' -> (1000 training, 500 test examples)."""
    try:
        train, test = (int(p) for p in str(text).split(","))
    except ValueError:
        raise UsageError(f"{flag}: cannot read '{text}'; write TRAIN,TEST example counts, e.g. 1000,500") from None
    if not (1 <= train <= MAX_SYNTHETIC and 1 <= test <= MAX_SYNTHETIC):
        raise UsageError(f"{flag}: counts must be from 1 to {MAX_SYNTHETIC:,}, got '{text}'")
    return train, test


def _schedule(text: str, flag: str) -> str:
    from deepgen_cli.engine.schedules import parse_schedule

    return parse_schedule(text, flag)


# --- the options shared by commands ----------------------------------------------------------------------

DEVICE = opt("--device", panel="Run", help="auto picks cuda when a GPU is visible; cpu, cuda or cuda:N.")
SEED = opt("--seed", panel="Run", help="Seed for initial weights, data splits, corruptions and batch order.", type=int,
           check=between(0, MAX_SEED), valid=f"an integer from 0 to {MAX_SEED:,}")
THREADS = opt("--threads", type=int, optional=True, check=between(1, MAX_THREADS), valid=f"an integer from 1 to {MAX_THREADS}",
              panel="Run", help="CPU threads for torch. Unset: training commands use 1 for inputs of up to 1,024 values (digits, "
                   "MNIST) and torch's default above; efficiency uses torch's default. The same seed gives identical "
                   "numbers at the same thread count.")
DETERMINISTIC = opt("--deterministic", type=bool, panel="Run",
                    help="torch.use_deterministic_algorithms and cuDNN's deterministic mode: the same numbers run to "
                         "run on a GPU too (slower; an op without a deterministic kernel is an error).")
REPEATS = opt("--repeats", type=int, check=between(1, MAX_REPEATS), valid=f"an integer from 1 to {MAX_REPEATS}",
              panel="Run", help="Seeds per setting (seed, seed+1, ...); tables show each, verdicts use their means.")

MODEL = opt("--model", "-m", metavar="NAME", help="A registry model; see `deepgen models`.")
UNTRAINED = opt("--untrained", type=bool,  # probe and reuse each say what they do with it (Opt.but)
                help="The model at its initial (seeded) weights, not trained.")
WEIGHTS = opt("--weights", optional=True, metavar="FILE",
              help="A local state_dict (torch.save; read as weights only, never as code) for the command's model.")
DATASET = opt("--dataset", "-d", panel="Data",
              help="digits (embedded), synthetic, cifar10, mnist, fashion-mnist or imagefolder (class folders).")
DATA_DIR = opt("--data-dir", optional=True, metavar="DIR", panel="Data",
               help="Folder with the cifar10 / mnist / fashion-mnist files, or imagefolder's train/ and val/.")
DOWNLOAD = opt("--download", type=bool, panel="Data", help="Fetch the dataset into --data-dir if missing (needs network).")
IMAGE_SIZE = opt("--image-size", type=int, optional=True, panel="Data", help="Resize images to this side, pixels.")
SUBSET = opt("--subset", type=int, optional=True, panel="Data", help="Train on N examples (a seeded choice).")
SYNTHETIC_SHAPE = opt("--synthetic-shape", parse=parse_shape, show=lambda s: "x".join(map(str, s)), metavar="CxHxW",
                      panel="Data", help="--dataset synthetic: image shape, e.g. 3x32x32.")
SYNTHETIC_CLASSES = opt("--synthetic-classes", type=int, panel="Data", help="--dataset synthetic: number of classes.")
IN_MEMORY_MODES = ("auto", "yes", "no")
DATA_IN_MEMORY = opt("--data-in-memory", choices=IN_MEMORY_MODES, panel="Data",
                     help="yes: the whole dataset as tensors on the device; no: streamed through a DataLoader; auto: "
                          "in memory when it fits at its final size (imagefolder always streams).")
MAX_WORKERS = 256
WORKERS = opt("--workers", type=int, optional=True, check=between(0, MAX_WORKERS),
              valid=f"an integer from 0 to {MAX_WORKERS}", panel="Data", help="DataLoader worker processes per rank on the streamed path (unset: min(8, CPUs per "
                   "rank); 0 loads in the main process).")
SYNTHETIC_EXAMPLES = opt("--synthetic-examples", parse=parse_counts, show=show_list, metavar="TRAIN,TEST",
                         panel="Data", help="--dataset synthetic: training and test example counts.")

EPOCHS = opt("--epochs", "-e", type=int, check=between(1, MAX_EPOCHS), valid=f"an integer from 1 to {MAX_EPOCHS:,}", panel="Training", help="Training epochs.")
BATCH_SIZE = opt("--batch-size", "-b", type=int, check=between(1, MAX_BATCH), valid=f"an integer from 1 to {MAX_BATCH:,}",
                 help="Examples per SGD step.")  # efficiency's says its own (timed passes)
LR = opt("--lr", type=float, check=lambda v: positive(v) and v <= MAX_LR, valid=f"a positive number up to {MAX_LR:.3g}",
         panel="Training", help="SGD learning rate (absolute, whatever the batch size).")
MOMENTUM = opt("--momentum", type=float, check=lambda v: finite(v) and 0 <= v < 1, valid="in [0, 1)",
               panel="Training", help="SGD momentum.")
WEIGHT_DECAY = opt("--weight-decay", type=float, check=non_negative, valid="0 or more", panel="Training", help="L2 weight decay.")
LR_SCHEDULE = opt("--lr-schedule", parse=lambda text, flag: _schedule(text, flag), panel="Training",
                  check=lambda v: _schedule(v, "--lr-schedule") == v, valid="constant, exp:GAMMA, step:E1,E2 or cosine",
                  help="constant, exp:GAMMA (x GAMMA per epoch; Zhang et al.: exp:0.95), step:E1,E2 (/10 after "
                       "those epochs) or cosine (to 0 over the run, per step).")
EVAL_EVERY = opt("--eval-every", type=int, check=at_least(0), valid="0 (never) or more epochs", panel="Training",
                 help="Test accuracy every N epochs, for the learning curve (0: only at the end).")
# In a panel of its own: typer gives a --x/--no-x flag a column of its own, which in a long panel leaves the help
# text a few words a line at 80 columns
UNTIL_FIT = opt("--until-fit", type=bool, panel="Stopping",
                help="Stop once training accuracy reaches 100% (--epochs is the cap).")
AUGMENT = opt("--augment", type=bool, panel="Training", help="Random crop (zero padding by side/8) and horizontal flip.")
CONFIDENCE_PENALTY = opt("--confidence-penalty", type=float, check=non_negative, valid="0 or more",
                         panel="Training", help="beta: loss = NLL - beta * entropy (Pereyra et al. 2017).")
CP_THRESHOLD = opt("--cp-threshold", type=float, optional=True, check=positive, valid="a positive entropy in nats",
                   panel="Training", help="Hinge form: penalize only entropies below this, nats (Pereyra ran the plain form).")
CP_ANNEAL = opt("--cp-anneal", type=int, check=at_least(0), valid="0 (a constant beta) or more epochs",
                panel="Training", help="Raise beta linearly to its value over this many epochs (0: constant).")
LABEL_SMOOTHING = opt("--label-smoothing", type=float, check=lambda v: finite(v) and 0 <= v < 1, valid="in [0, 1)",
                      panel="Training", help="Label smoothing epsilon (Szegedy et al. 2016), for comparison with the penalty.")
AMP_MODES = ("none", "bf16")
AMP = opt("--amp", choices=AMP_MODES, panel="Training", help="none or bf16 (autocast).")
CHANNELS_LAST = opt("--channels-last", type=bool, panel="Speed", help="NHWC memory format for the model and its inputs.")
COMPILE = opt("--compile", type=bool, panel="Speed", help="torch.compile the model first.")


@dataclass(frozen=True, kw_only=True)
class Options:
    """A command's config: every field an option, checked by its own rule."""

    def check(self) -> None:
        """UsageError naming the flag and the valid values for the first field that breaks its rule."""
        for f, o in option_fields(type(self)):
            value = getattr(self, f.name)
            if value is None and o.optional:
                continue
            if o.check is not None and not o.check(value):
                raise UsageError(f"{o.flag}: must be {o.valid}, got {o.text(value)}")

    def resolved(self) -> Options:
        """The config with defaults that depend on other options filled in, as the run will use and record it."""
        return self

    def ignored(self) -> dict[str, str]:
        """Options this config's mode does not use: field (or session option) name -> why. Giving one is an error."""
        return {}


@dataclass(frozen=True, kw_only=True)
class RunOptions(Options):
    device: str = DEVICE("auto")  # resolved to cpu / cuda / cuda:N before a run: part of the --resume key
    seed: int = SEED(0)
    threads: int | None = THREADS(None)
    deterministic: bool = DETERMINISTIC(False)  # deterministic kernels (GPU); the CPU paths are already repeatable


@dataclass(frozen=True, kw_only=True)
class DataConfig(Options):
    """What data a run loads (engine/data): the dataset, where its files are, its size and subset, and how it is
    held. A training command's config is one (it inherits this group); `of` takes the group out of one."""

    dataset: str = DATASET("digits")
    data_dir: str | None = DATA_DIR(None)
    download: bool = DOWNLOAD(False)
    image_size: int | None = IMAGE_SIZE(None)  # None keeps the dataset's side (digits: 8)
    subset: int | None = SUBSET(None)
    synthetic_shape: tuple[int, int, int] = SYNTHETIC_SHAPE((1, 8, 8))
    synthetic_classes: int = SYNTHETIC_CLASSES(10)
    synthetic_examples: tuple[int, int] = SYNTHETIC_EXAMPLES((1000, 500))
    data_in_memory: str = DATA_IN_MEMORY("auto")  # auto: in memory when it fits (data/memory.py), else streamed
    workers: int | None = WORKERS(None)  # streamed path: DataLoader workers per rank; None: min(8, CPUs per rank)
    seed: int = 0  # data splits, --subset's choice, synthetic draws; a command's is its --seed (RunOptions)

    @property
    def synthetic_train(self) -> int:
        return self.synthetic_examples[0]

    @property
    def synthetic_test(self) -> int:
        return self.synthetic_examples[1]

    @property
    def in_memory(self) -> str:
        return self.data_in_memory

    @classmethod
    def of(cls, config) -> DataConfig:
        """The data group of a command's config (its fields of the same names)."""
        return cls(**{f.name: getattr(config, f.name) for f in dataclasses.fields(cls)})

    def resolved(self) -> Options:
        """A training run's thread count, when not given, chosen from its input size (recorded in the config)."""
        if getattr(self, "threads", 0) is None:
            return dataclasses.replace(self, threads=default_threads(self))
        return self


# Inputs up to this many values (digits 64, MNIST 784) train tiny models whose products are too small to
# split: one thread is faster there, and on shared cores a second stalls at every barrier (a random-label fit
# of digits took 0.8-2.5 s on one thread, 15-50 s on two). Larger inputs get torch's default (on 3x32x32,
# one thread was 1.45x slower than two on 2 cores).
ONE_THREAD_MAX_INPUT = 1024
NATIVE_SHAPES = {"digits": (1, 8, 8), "mnist": (1, 28, 28), "fashion-mnist": (1, 28, 28), "cifar10": (3, 32, 32)}


def input_shape(data: DataConfig) -> tuple[int, int, int] | None:
    """(channels, height, width) of an input as a run will see it, known before loading; None if unknown."""
    c, h, w = data.synthetic_shape if data.dataset == "synthetic" else NATIVE_SHAPES.get(data.dataset, (3, 0, 0))
    if data.image_size:
        h = w = data.image_size
    return (c, h, w) if h else None


def default_threads(data: DataConfig) -> int:
    """The thread count a training run uses unless --threads says otherwise (see ONE_THREAD_MAX_INPUT)."""
    shape = input_shape(data)
    if shape and shape[0] * shape[1] * shape[2] <= ONE_THREAD_MAX_INPUT:
        return 1
    import torch  # here: a small input, the default, decides without it (--help and usage errors skip torch)

    return torch.get_num_threads()


@dataclass(frozen=True, kw_only=True)
class TrainOptions(Options):
    """SGD with momentum, as every training command runs it (defaults differ per command)."""

    epochs: int = EPOCHS(10)
    batch_size: int = BATCH_SIZE(128)
    lr: float = LR(0.1)
    momentum: float = MOMENTUM(0.9)
    weight_decay: float = WEIGHT_DECAY(0.0)
    lr_schedule: str = LR_SCHEDULE("constant")
    eval_every: int = EVAL_EVERY(1)  # epochs between test evaluations for the learning curve; 0: none


@dataclass(frozen=True, kw_only=True)
class TrainConfig(TrainOptions):
    """How train() trains (engine/train.py): the SGD group and the loop's own options; a command whose training takes
    them all (memorize) inherits this group, the others TrainOptions alone (`of` fills the rest with defaults)."""

    augment: bool = AUGMENT(False)  # random crop (pad side/8) and horizontal flip, on tensors
    until_fit: bool = UNTIL_FIT(False)  # stop after the first fit epoch (see TrainResult.fit_epoch)
    confidence_penalty: float = CONFIDENCE_PENALTY(0.0)  # beta: loss = NLL - beta * H(p) (Pereyra et al. 2017)
    cp_threshold: float | None = CP_THRESHOLD(None)  # hinge form: loss = NLL + beta * relu(threshold - H), nats
    # Annealing, Pereyra et al.'s other way to make the penalty weak early and strong near convergence:
    # beta * min(1, epoch / cp_anneal) in each epoch; 0: beta from the first step
    cp_anneal: int = CP_ANNEAL(0)
    label_smoothing: float = LABEL_SMOOTHING(0.0)
    amp: str = AMP("none")  # "bf16": autocast forward passes to bfloat16
    channels_last: bool = CHANNELS_LAST(False)  # NHWC memory format for model and inputs
    compile: bool = COMPILE(False)  # torch.compile the model first
    seed: int = 0  # batch order and augmentation

    def check(self) -> None:
        super().check()
        if self.cp_threshold is not None and not self.confidence_penalty:
            raise UsageError("--cp-threshold: sets the hinge of the confidence penalty; add --confidence-penalty BETA")
        if self.cp_anneal and not self.confidence_penalty:
            raise UsageError("--cp-anneal: anneals the confidence penalty; add --confidence-penalty BETA")

    @classmethod
    def of(cls, config, **override) -> TrainConfig:
        """The training part of a command's config: its fields of the same names, then `override`."""
        shared = {f.name: getattr(config, f.name) for f in dataclasses.fields(cls) if hasattr(config, f.name)}
        return cls(**{**shared, **override})
