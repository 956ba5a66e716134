"""Container images: built daemonless with podman from the repository's Dockerfiles, tagged as the chart
and the operator name them, and loaded into a real node's containerd."""
