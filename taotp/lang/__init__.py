"""The taotp language: parser (source -> syntax tree) and evaluator (tree -> Program)."""
