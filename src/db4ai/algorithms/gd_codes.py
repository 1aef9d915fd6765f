"""The small integer codes and constants shared by the gradient-descent loop (:mod:`.optim`), the
family's Python side (:mod:`.gd`) and its compiled loops (:mod:`.gd_kernels`).

A leaf module: the compiled loops take plain integers, and every side names them from here.
"""

GD, NGD = 0, 1  # the optimizer kinds
SQUARED, LOGISTIC, HINGE = 0, 1, 2  # loss kinds: linear, logistic, svm
FLT_MIN = 1.1754943508222875e-38  # C's FLT_MIN: svm's test threshold (svmc_test)

__all__ = ["FLT_MIN", "GD", "HINGE", "LOGISTIC", "NGD", "SQUARED"]
