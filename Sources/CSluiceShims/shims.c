// Everything lives in include/CSluiceShims.h as static inline functions; SwiftPM needs a
// source file to build the module.
#include "CSluiceShims.h"
