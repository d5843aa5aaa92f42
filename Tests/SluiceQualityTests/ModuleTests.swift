import SluiceQuality
import Testing
