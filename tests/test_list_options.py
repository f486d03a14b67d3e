"""A value given twice in a list option is refused alike in every one (it once gave two rows with one --resume
key under --models, and one row under --noise): exit 2 naming the flag and the repeat, before anything runs."""

import pytest


@pytest.mark.parametrize("args, flag, repeat, before", [
    (["efficiency", "--models", "squeezenet,squeezenet"], "--models", "squeezenet", "squeezenet"),
    (["memorize", "--noise", "1,1"], "--noise", "1", "1"),
    (["memorize", "--noise", "0,1,1.0"], "--noise", "1.0", "1"),
    (["memorize", "--corruption", "labels,gaussian,labels"], "--corruption", "labels", "labels"),
    (["memorize", "--regularizer", "none,none"], "--regularizer", "none", "none"),
    (["probe", "--snapshots", "1,2,2"], "--snapshots", "2", "2"),
    (["norm-compare", "--norms", "batch,batch"], "--norms", "batch", "batch"),
    (["norm-compare", "--microbatch", "2,4,2"], "--microbatch", "2", "2"),
])
def test_a_repeated_value_is_refused_in_every_list_option(cli, args, flag, repeat, before):
    result = cli(*args)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (f"deepgen: error: {flag}: '{repeat}' is given twice ('{before}' before it); "
                             f"give each value once\n")


def test_a_repeated_layer_pattern_is_refused():
    from deepgen_cli.engine.errors import UsageError
    from deepgen_cli.engine.probe.layers import select

    with pytest.raises(UsageError, match=r"--layers: '0' is given twice \('0' before it\)"):
        select([], "0,1,0")
