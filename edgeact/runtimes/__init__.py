"""Thin wrappers around the real runtimes (LiteRT, ...), used to check edgeact against them.

Each wrapper imports its runtime lazily, inside its functions, so ``import edgeact`` never loads a
runtime and edgeact's kernels work where no runtime is installed.
"""
