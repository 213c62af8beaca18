"""Figures from run folders (the paper's Figs. 3, 4, 6, 7); each reads only files runs wrote."""
