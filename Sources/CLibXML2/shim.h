#include <libxml/xmlversion.h>
/* Debian's libxml2 is built with ICU, and encoding.h then includes <unicode/ucnv.h>, whose
   UErrorCode clashes with Foundation's bundled ICU module at random depending on build order.
   Sluice never touches the ICU-only fields, so hide them. */
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <libxml/encoding.h>
/* xmlFree is a global function-pointer variable, which Swift 6 rejects as not concurrency-safe. */
static inline void shim_xmlFree(void *p) { xmlFree(p); }
