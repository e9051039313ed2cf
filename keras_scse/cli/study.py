"""``keras-scse study``: run a declared study (variants x seeds x recipe), show its progress, write its report.

A study is a JSON spec (e.g. benchmarks/results/attention_study/spec.json): variants of a model, seeds and one
training recipe. 'run' trains the runs not done yet, one at a time, resuming an interrupted one, and appends each
finished run to the study's results CSV. Run folders go to $KERAS_SCSE_RUNS (default ~/.cache/keras_scse/runs).
'status' prints what is done, what is left and the time it will take; 'report' writes the summary table and plot.
"""

from keras_scse.cli.common import command_parser, positive_int


def cmd_study(args):
    from keras_scse import study

    spec = study.load(args.spec)
    if args.action == "status":
        print(study.status(spec))
    elif args.action == "run":
        study.run(spec, args.spec, variants=args.variant, seeds=args.seed, max_runs=args.max_runs)
        print(study.status(spec))
    else:
        print(study.report(spec))
    return 0


def add_study(sub):
    st = command_parser(sub, __doc__)
    st.add_argument("action", choices=("status", "run", "report"))
    st.add_argument("spec", help="the study's JSON file")
    st.add_argument("--variant", nargs="+", help="run only these variants (names or folder names)")
    st.add_argument("--seed", type=int, nargs="+", help="run only these seeds")
    st.add_argument("--max-runs", type=positive_int, help="stop after this many runs")
    st.set_defaults(func=cmd_study)
