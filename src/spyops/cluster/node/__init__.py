"""The real node of the embedded cluster: kubelet, kube-proxy, containerd + runc + CNI, CoreDNS and a
local-path volume provisioner, started beside the control plane (`spyops cluster up --node real`)."""
