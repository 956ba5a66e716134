"""`spyops demo`: the whole platform on one machine.

The control plane, the CRDs, the operator and the example resources are real Kubernetes; the
workloads the operator renders (gateway simulator, detector, bot replicas) cannot run as
containers here, so they run as local processes configured from exactly what the operator
rendered. A supervisor starts everything in order, and stops it all on Ctrl-C.
"""
