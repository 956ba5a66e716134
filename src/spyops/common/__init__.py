"""Small pieces every long-running spyops process shares: JSON logs and the health/metrics server."""
