"""flowlake jobs: each module has a pure transform, read and write functions, and main(argv)."""
