// The SluiceFastText module; see ../shared/design/ARCHITECTURE.md.
