// The SluiceDedup module; see ../shared/design/ARCHITECTURE.md.
