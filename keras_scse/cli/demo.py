"""``keras-scse demo``: build SCSENet44, print its costs, train it briefly on real Fashion-MNIST."""

from keras_scse.cli.common import library_arguments, library_defaults, positive_int


def cmd_demo(args):
    from keras_scse import demo

    demo.run(**library_arguments(args, demo.run))
    return 0


def add_demo(sub):
    from keras_scse import demo

    parser = sub.add_parser("demo", help="build SCSENet44, print its costs, train briefly on real Fashion-MNIST")
    parser.add_argument("--epochs", type=positive_int, help="training epochs")
    parser.add_argument("--limit", type=positive_int, help="training images to use")
    parser.add_argument("--run-dir", help="output folder")
    parser.set_defaults(**library_defaults(demo.run), func=cmd_demo)
