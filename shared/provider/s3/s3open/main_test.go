package s3open_test

import (
	"testing"

	"github.com/bucketlink/bucketlink/infra/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
