// Kiroku's monitoring and backup storage on Azure, as code. One resource group per environment:
//   az deployment group create -g kiroku-prod -f deploy/azure/monitoring.bicep -p @deploy/azure/monitoring.parameters.json
// (docs/operations/monitoring.md#azure-monitor-as-code). It creates:
//   - a Log Analytics workspace keeping container logs (ContainerLogV2) 90 days, for the AKS monitoring add-on;
//   - an Azure Monitor workspace for managed Prometheus, and its rule groups: the rules of
//     deploy/monitoring/prometheus-rules.yml, through prometheus-rule-groups.json (generate-rule-groups.mjs);
//   - an action group (e-mail, and a webhook when given) that every alert here notifies;
//   - a standard availability test of PUBLIC_URL/health/ready from five regions, and its alert;
//   - the backup storage account: blob and container soft delete, and a 30-day time-based immutability
//     policy on the backup container, so that a stolen credential cannot delete or overwrite a recent backup.
// The AKS cluster itself is not managed here: connect it to both workspaces with `az aks` (see the docs).

targetScope = 'resourceGroup'

@description('Prefix of every resource name, e.g. kiroku-prod.')
@minLength(3)
@maxLength(40)
param namePrefix string

@description('Region of the workspaces, the storage account and the availability test.')
param location string = resourceGroup().location

@description('Name of the AKS cluster whose managed Prometheus metrics the rule groups evaluate.')
param aksClusterName string

@description('Resource group of the AKS cluster (default: this one).')
param aksResourceGroup string = resourceGroup().name

@description('Kiroku\'s PUBLIC_URL, without a trailing slash: the availability test requests PUBLIC_URL/health/ready.')
param publicUrl string

@description('Addresses that receive every alert by e-mail.')
@minLength(1)
param alertEmails array

@description('A webhook (Slack, Teams, an on-call service) that receives every alert in the common alert schema; empty for none.')
@secure()
param alertWebhookUrl string = ''

@description('Days container logs are kept: the design requires 90.')
@minValue(90)
param logRetentionDays int = 90

@description('Storage account for backups: 3-24 lower-case letters and digits, unique in Azure.')
@minLength(3)
@maxLength(24)
param backupStorageAccountName string

@description('The backup container: BACKUP_AZURE_CONTAINER (backups and log archives).')
param backupContainerName string = 'kiroku-backups'

@description('Days a blob cannot be deleted or overwritten after it is written. Keep BACKUP_RETENTION_DAYS above it (31 for 30), or pruning fails on blobs still locked.')
@minValue(1)
param immutabilityDays int = 30

@description('Days a deleted blob or container can be restored.')
@minValue(7)
param softDeleteDays int = 30

@description('Replication of the backup account: geo-redundant, so that a region\'s loss does not take the backups with it.')
@allowed(['Standard_GRS', 'Standard_RAGRS', 'Standard_GZRS', 'Standard_RAGZRS'])
param backupStorageSku string = 'Standard_GZRS'

@description('Public IP ranges (CIDR) allowed to reach the backup account: the AKS cluster\'s egress addresses, a VM\'s address.')
param backupAllowedIpRanges array = []

@description('Subnet resource IDs (with the Microsoft.Storage service endpoint) allowed to reach the backup account: the AKS node subnet.')
param backupAllowedSubnetIds array = []

var ruleGroups = loadJsonContent('prometheus-rule-groups.json').groups
// Locations of the availability test (Azure's ids): five, spread over continents, as Azure recommends.
var testLocations = ['emea-nl-ams-azr', 'emea-gb-db3-azr', 'us-va-ash-azr', 'us-ca-sjc-azr', 'apac-sg-sin-azr']

resource aks 'Microsoft.ContainerService/managedClusters@2024-02-01' existing = {
  name: aksClusterName
  scope: resourceGroup(aksResourceGroup)
}

// ---- Logs ----

resource logs 'Microsoft.OperationalInsights/workspaces@2022-10-01' = {
  name: '${namePrefix}-logs'
  location: location
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: logRetentionDays
    features: { enableLogAccessUsingOnlyResourcePermissions: true }
  }
}

// The table the monitoring add-on writes container stdout/stderr to (deploy/k8s/cluster-wide selects schema v2):
// its retention set explicitly, so that a later change of the workspace default cannot shorten it.
resource containerLogs 'Microsoft.OperationalInsights/workspaces/tables@2022-10-01' = {
  parent: logs
  name: 'ContainerLogV2'
  properties: {
    retentionInDays: logRetentionDays
    totalRetentionInDays: logRetentionDays
  }
}

// ---- Metrics and their rules ----

resource prometheus 'Microsoft.Monitor/accounts@2023-04-03' = {
  name: '${namePrefix}-prometheus'
  location: location
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: '${namePrefix}-alerts'
  location: 'Global'
  properties: {
    groupShortName: take(replace(namePrefix, '-', ''), 12)
    enabled: true
    emailReceivers: [
      for (address, i) in alertEmails: {
        name: 'email-${i}'
        emailAddress: address
        useCommonAlertSchema: true
      }
    ]
    // On one line: older Bicep and checkov's parser read no multi-line ternary.
    webhookReceivers: empty(alertWebhookUrl) ? [] : [{ name: 'webhook', serviceUri: alertWebhookUrl, useCommonAlertSchema: true }]
  }
}

resource prometheusRules 'Microsoft.AlertsManagement/prometheusRuleGroups@2023-03-01' = [
  for group in ruleGroups: {
    name: '${namePrefix}-${group.name}'
    location: location
    properties: {
      description: 'Kiroku: deploy/monitoring/prometheus-rules.yml, group ${group.name}'
      scopes: [prometheus.id, aks.id]
      clusterName: aksClusterName
      enabled: true
      interval: group.interval
      rules: map(group.rules, rule => union(rule, { actions: [{ actionGroupId: actionGroup.id }] }))
    }
  }
]

// ---- Availability from outside ----

// Holds the availability test's results (in the Log Analytics workspace); Kiroku sends it no telemetry.
resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${namePrefix}-insights'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    IngestionMode: 'LogAnalytics'
    RetentionInDays: logRetentionDays
  }
}

resource readyTest 'Microsoft.Insights/webtests@2022-06-15' = {
  name: '${namePrefix}-ready'
  location: location
  // Azure links a test to its Application Insights resource by this tag.
  tags: { 'hidden-link:${insights.id}': 'Resource' }
  kind: 'standard'
  properties: {
    SyntheticMonitorId: '${namePrefix}-ready'
    Name: '${namePrefix} /health/ready'
    Description: 'Kiroku answers 200 on /health/ready: serving, database reachable, disk not full.'
    Enabled: true
    Kind: 'standard'
    Frequency: 300
    Timeout: 30
    RetryEnabled: true
    Locations: [for id in testLocations: { Id: id }]
    Request: {
      RequestUrl: '${publicUrl}/health/ready'
      HttpVerb: 'GET'
      ParseDependentRequests: false
    }
    ValidationRules: {
      ExpectedHttpStatusCode: 200
      SSLCheck: true
      SSLCertRemainingLifetimeCheck: 14
    }
  }
}

// Fires when two of the five locations fail in the same 5 minutes (one failing location is usually its network).
resource readyAlert 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: '${namePrefix}-ready-unavailable'
  location: 'global'
  properties: {
    description: 'Kiroku /health/ready failed from at least 2 of 5 locations: the service is down or unreachable from the internet.'
    severity: 0
    enabled: true
    scopes: [readyTest.id, insights.id]
    evaluationFrequency: 'PT1M'
    windowSize: 'PT5M'
    autoMitigate: true
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.WebtestLocationAvailabilityCriteria'
      webTestId: readyTest.id
      componentId: insights.id
      failedLocationCount: 2
    }
    actions: [{ actionGroupId: actionGroup.id }]
  }
}

// ---- Backup storage ----

resource backupStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_59: reached over the internet by the AKS cluster's egress addresses and VMs, restricted by networkAcls (default Deny); a private endpoint needs a VNet this template does not own
  // checkov:skip=CKV2_AZURE_33: as CKV_AZURE_59: no private endpoint, networkAcls deny all but the listed addresses and subnets
  // checkov:skip=CKV2_AZURE_1: backups are encrypted by Kiroku with age before upload; a customer-managed key adds nothing the storage service could read
  // checkov:skip=CKV2_AZURE_40: Kiroku authenticates with BACKUP_AZURE_CONNECTION_STRING (an account key or SAS), which needs shared-key authorization; immutability stops a leaked key from deleting recent backups
  // checkov:skip=CKV_AZURE_33: the account holds blobs only: no queue service to log
  // checkov:skip=CKV_AZURE_206: replication is the parameter backupStorageSku, which allows geo-redundant SKUs only (default Standard_GZRS)
  name: backupStorageAccountName
  location: location
  sku: { name: backupStorageSku }
  kind: 'StorageV2'
  properties: {
    accessTier: 'Hot'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: true
    allowCrossTenantReplication: false
    isLocalUserEnabled: false
    isSftpEnabled: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Deny'
      bypass: 'AzureServices'
      ipRules: [for range in backupAllowedIpRanges: { value: range, action: 'Allow' }]
      virtualNetworkRules: [for subnet in backupAllowedSubnetIds: { id: subnet, action: 'Allow' }]
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: { enabled: true, keyType: 'Account' }
        file: { enabled: true, keyType: 'Account' }
      }
    }
    // A SAS handed to Kiroku should expire; longer ones are logged.
    sasPolicy: {
      sasExpirationPeriod: '365.00:00:00'
      expirationAction: 'Log'
    }
  }
}

resource backupBlobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: backupStorage
  name: 'default'
  properties: {
    deleteRetentionPolicy: { enabled: true, days: softDeleteDays }
    containerDeleteRetentionPolicy: { enabled: true, days: softDeleteDays }
  }
}

resource backupContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: backupBlobs
  name: backupContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Time-based retention: a blob can be neither deleted nor overwritten for immutabilityDays after it is written.
// Left unlocked so that the period can still be changed; lock it once it is right (irreversible; see the docs).
resource backupImmutability 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = {
  parent: backupContainer
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: immutabilityDays
    allowProtectedAppendWrites: false
  }
}

// Who read, wrote or deleted backups: the blob service's logs, kept with the container logs.
resource backupAudit 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'kiroku-backup-audit'
  scope: backupBlobs
  properties: {
    workspaceId: logs.id
    logs: [
      { category: 'StorageRead', enabled: true }
      { category: 'StorageWrite', enabled: true }
      { category: 'StorageDelete', enabled: true }
    ]
  }
}

output logAnalyticsWorkspaceId string = logs.id
output azureMonitorWorkspaceId string = prometheus.id
output actionGroupId string = actionGroup.id
output backupStorageAccountName string = backupStorage.name
output backupBlobEndpoint string = backupStorage.properties.primaryEndpoints.blob
