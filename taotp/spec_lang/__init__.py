"""Specs written in the language: `spec expected=F, inputs=D`.

- domain.py    the values that *describe* an input domain (fixed, one_of, seq, lists,
               integers, tuples, map, filter, weighted; builtins/domains.py builds them);
- readers.py   one description read three ways: a Hypothesis strategy, a seeded
               sampler, an enumerator with its size;
- runtime.py   runs the spec's functions (expected, maps, filters) at check time, errors
               located with the input; compiled.py (+ compiled_expressions.py) compiles
               them once into closures, fast enough for millions of inputs;
- names.py     what a spec's function reads and binds (its free names);
- capture.py   the spec's functions and values as the language's own text, kept in
               compiled files (`taotp compile`); restore.py reads them back;
- spec.py      all of it wrapped in today's taotp.specs.Spec;
- expect.py    `taotp check PROGRAM --expect pairs.tsv`.
"""
