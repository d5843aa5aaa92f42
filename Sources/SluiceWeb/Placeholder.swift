// The SluiceWeb module; see ../shared/design/ARCHITECTURE.md.
