"""Model converters (ONNX, TFLite): inspect, swap, verify, write.

Filled in by the converter issues.
"""
