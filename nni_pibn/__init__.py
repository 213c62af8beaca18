"""nni_pibn: the Pseudo-Inverted Bottleneck DARTS search space on Microsoft NNI."""

from __future__ import annotations

import warnings

# NNI 3.0 inspects torch.nn at import and warns about classes it does not know; harmless.
warnings.filterwarnings("ignore", message=r".*is found to be not a nn\.Module.*")

__version__ = "0.1.0"
