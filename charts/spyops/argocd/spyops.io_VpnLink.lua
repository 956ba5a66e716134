-- Argo CD health of a spyops.io VpnLink: its link health plus the kstatus conditions.
local hs = {}
local function condition(status, kind)
  if status.conditions == nil then return nil end
  for _, c in ipairs(status.conditions) do
    if c.type == kind then return c end
  end
  return nil
end
if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the VpnLink controller to report status"
  return hs
end
if obj.metadata.generation ~= nil and obj.status.observedGeneration ~= nil
    and obj.status.observedGeneration < obj.metadata.generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the controller to observe generation " .. obj.metadata.generation
  return hs
end
local stalled = condition(obj.status, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = stalled.message
  return hs
end
local failures = obj.status.consecutiveFailures or 0
if obj.status.health == "Down" or obj.status.health == "Degraded" then
  hs.status = "Degraded"
  hs.message = "Link " .. obj.status.health .. " after " .. failures .. " consecutive probe failures"
  return hs
end
local ready = condition(obj.status, "Ready")
if obj.status.health == "Healthy" and (ready == nil or ready.status == "True") then
  hs.status = "Healthy"
  hs.message = "Link healthy"
  return hs
end
hs.status = "Progressing"
if ready ~= nil then hs.message = ready.message else hs.message = "Link health " .. (obj.status.health or "Unknown") end
return hs
