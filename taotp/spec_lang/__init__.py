"""Specs written in the language: `spec expected=F, inputs=D`.

- domain.py   the values that *describe* an input domain (fixed, one_of, seq, lists,
              integers, tuples, map, filter, weighted) and their text;
- readers.py  one description read three ways: a Hypothesis strategy, a seeded
              sampler, an enumerator with its size;
- runtime.py  runs the spec's functions (expected, maps, filters) on millions of
              inputs, compiled once (compiled.py), errors located with the input;
- capture.py  the spec's functions and values as the language's own text, kept in
              compiled files (`taotp compile`) and read back;
- spec.py     all of it wrapped in today's taotp.specs.Spec;
- expect.py   `taotp check PROGRAM --expect pairs.tsv`.
"""
