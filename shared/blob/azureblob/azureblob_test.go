package azureblob_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/blob/azureblob"
	"github.com/bucketlink/bucketlink/shared/blob/blobtest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// allPerms is what the suite's buckets need from a SAS token.
const allPerms = "racwdl"

// httpClient is a fresh client, like the one netguard gives in production.
func httpClient() *http.Client {
	return &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
}

// open returns a driver for container with a shared key or a SAS token.
func open(t *testing.T, endpoint, account, container, key, token string) blob.Bucket {
	t.Helper()
	b, err := azureblob.New(azureblob.Options{
		AccountName: account,
		Container:   container,
		AccountKey:  key,
		SASToken:    token,
		Endpoint:    endpoint,
		HTTPClient:  httpClient(),
	})
	if err != nil {
		t.Fatalf("azureblob.New: %v", err)
	}
	return b
}

// credential is how a harness authorizes: sign returns (key, token) for an
// account name, its key and a container.
type credential func(t *testing.T, account, key, container string) (string, string)

func sharedKey(_ *testing.T, _, key, _ string) (string, string) { return key, "" }

func sasToken(t *testing.T, account, key, container string) (string, string) {
	return "", testenv.AzureSAS(t, account, key, container, allPerms, time.Now().Add(time.Hour))
}

// harness builds the conformance harness for one kind of credential.
func harness(cred credential) blobtest.Harness {
	return blobtest.Harness{
		Bucket: func(t *testing.T) blob.Bucket {
			a := testenv.SharedAzurite(t)
			c := testenv.ContainerName(t, "suite")
			a.CreateContainer(t, c)
			key, token := cred(t, a.AccountName, a.AccountKey, c)
			return open(t, a.Endpoint(), a.AccountName, c, key, token)
		},
		MissingBucket: func(t *testing.T) blob.Bucket {
			a := testenv.SharedAzurite(t)
			c := testenv.ContainerName(t, "missing")
			key, token := cred(t, a.AccountName, a.AccountKey, c)
			return open(t, a.Endpoint(), a.AccountName, c, key, token)
		},
		WrongSecret: func(t *testing.T) blob.Bucket {
			a := testenv.SharedAzurite(t)
			c := testenv.ContainerName(t, "wrongkey")
			a.CreateContainer(t, c)
			_, wrong := testenv.NewAzureAccount(t)
			key, token := cred(t, a.AccountName, wrong, c)
			return open(t, a.Endpoint(), a.AccountName, c, key, token)
		},
		UnknownKey: func(t *testing.T) blob.Bucket {
			a := testenv.SharedAzurite(t)
			c := testenv.ContainerName(t, "unknownacct")
			a.CreateContainer(t, c)
			account, accountKey := testenv.NewAzureAccount(t)
			key, token := cred(t, account, accountKey, c)
			return open(t, a.URL+"/"+account, account, c, key, token)
		},
		Hanging: func(t *testing.T) blob.Bucket {
			account, accountKey := testenv.NewAzureAccount(t)
			key, token := cred(t, account, accountKey, "hanging")
			return open(t, testenv.HangingServer(t)+"/"+account, account, "hanging", key, token)
		},
		DeleteMissingIsNotFound: true,
		// Put Blob needs x-ms-blob-type, which the driver names.
		HTTPClient: blobtest.HeaderClient(httpClient(), azureblob.PresignPutHeaders()),
	}
}

func TestConformance(t *testing.T) {
	t.Run("SharedKey", func(t *testing.T) { blobtest.Run(t, harness(sharedKey)) })
	t.Run("SAS", func(t *testing.T) { blobtest.Run(t, harness(sasToken)) })
}
