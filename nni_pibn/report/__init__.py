"""Reports over NNI experiments: Table 1, the roadmap (Fig. 1) and the Fig. 5 plots."""
